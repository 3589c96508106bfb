package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	defaultKubeconfig = "/etc/rancher/k3s/k3s.yaml"
	manifestsDir      = dataDir + "/server/manifests"
	tlsDir            = dataDir + "/server/tls"
	credDir           = dataDir + "/server/cred"
	apiPort           = 6443
	serviceCIDR       = "10.43.0.0/16"
	serviceAPIAddress = "10.43.0.1"
)

func server(args []string) {
	cfg := loadConfig(splitFlags(args), serverKeys)
	tokenPath := dataDir + "/server/token"
	token := cfg.str("token", "")
	if token == "" {
		if b, err := os.ReadFile(tokenPath); err == nil {
			token = strings.TrimSpace(string(b))
		} else {
			token = "K10" + randomHex(32) + "::server:" + randomHex(16)
		}
	}
	writeFile(tokenPath, token+"\n", 0o600)
	writeFile(dataDir+"/server/node-token", token+"\n", 0o600)
	// As K3s: the mode is read as an octal string, so an unquoted YAML 0644 (the integer 420) goes wrong.
	mode, err := strconv.ParseUint(cfg.str("write-kubeconfig-mode", "0600"), 8, 32)
	if err != nil {
		fatal("invalid write-kubeconfig-mode %q: %v", cfg.str("write-kubeconfig-mode", ""), err)
	}
	effective, _ := json.MarshalIndent(redacted(cfg), "", "  ")
	writeFile(dataDir+"/server/standin-effective-config.json", string(effective)+"\n", 0o600)
	name, ip := nodeName(cfg), nodeIP(cfg)
	info("Starting k3s %s (play lab shell around real Kubernetes components, not K3s); disabled: %s", Version, strings.Join(cfg.list("disable"), ","))

	ips, names := []string{ip, "127.0.0.1", serviceAPIAddress}, []string{"localhost", name, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	for _, san := range cfg.list("tls-san") {
		if net.ParseIP(san) != nil {
			ips = append(ips, san)
		} else {
			names = append(names, san)
		}
	}
	kube := component()
	if out, err := exec.Command(kube, "pki", "--dir", tlsDir, "--ip", strings.Join(ips, ","), "--dns", strings.Join(names, ",")).CombinedOutput(); err != nil {
		fatal("certificates: %v: %s", err, out)
	}
	admin := readOrCreate(credDir+"/admin-token", randomHex(32))
	// Agents join with the cluster token; the API server knows only its hash, so a token with any
	// character fits its token file, and a wrong one gets 401 from the real API server.
	writeFile(credDir+"/tokens.csv", fmt.Sprintf("%s,admin,admin,system:masters\n%s,system:k3s-node,k3s-node,system:masters\n", admin, nodeCredential(token)), 0o600)
	ca, err := os.ReadFile(tlsDir + "/ca.crt")
	if err != nil {
		fatal("certificates: %v", err)
	}
	adminKubeconfig := credDir + "/admin.kubeconfig"
	writeFile(adminKubeconfig, kubeconfigText("https://127.0.0.1:6443", ca, admin), 0o600)

	p := newSupervisor()
	defer p.stopAll()
	p.start("etcd", kube, "etcd", "--data-dir", dataDir+"/server/db/etcd")
	p.waitHTTP("etcd", "http://127.0.0.1:2379/health", 60*time.Second)
	apiArgs := []string{"apiserver",
		"--etcd-servers=http://127.0.0.1:2379", "--bind-address=0.0.0.0", "--secure-port=6443", "--advertise-address=" + ip,
		"--tls-cert-file=" + tlsDir + "/serving.crt", "--tls-private-key-file=" + tlsDir + "/serving.key", "--client-ca-file=" + tlsDir + "/ca.crt",
		"--token-auth-file=" + credDir + "/tokens.csv", "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local", "--service-account-key-file=" + tlsDir + "/sa.pub",
		"--service-account-signing-key-file=" + tlsDir + "/sa.key",
		"--service-cluster-ip-range=" + serviceCIDR, "--allow-privileged=true", "--profiling=false",
		// No pod network: the API server reaches webhooks (MetalLB's) at their endpoints' addresses.
		"--enable-aggregator-routing=true",
		// `kubectl logs` goes to the node's agent, which serves the kubelet's containerLogs.
		"--kubelet-client-certificate=" + tlsDir + "/kubelet-client.crt", "--kubelet-client-key=" + tlsDir + "/kubelet-client.key",
		"--kubelet-preferred-address-types=InternalIP",
		"--endpoint-reconciler-type=lease", "--event-ttl=1h", "--v=0"}
	for _, a := range cfg.list("kube-apiserver-arg") {
		apiArgs = append(apiArgs, "--"+strings.TrimPrefix(a, "--"))
	}
	p.start("kube-apiserver", kube, apiArgs...)
	p.waitHTTP("kube-apiserver", "https://127.0.0.1:6443/readyz", 120*time.Second)
	writeFile(cfg.str("write-kubeconfig", defaultKubeconfig), kubeconfigText("https://127.0.0.1:6443", ca, admin), os.FileMode(mode))
	cmArgs := []string{"controller-manager", "--kubeconfig=" + adminKubeconfig, "--leader-elect=false", "--service-account-private-key-file=" + tlsDir + "/sa.key",
		"--root-ca-file=" + tlsDir + "/ca.crt", "--use-service-account-credentials=false",
		// K3s's pod network: each node gets a /24 of it (the lab's node agent routes them as flannel's host-gw would).
		"--allocate-node-cidrs=true", "--cluster-cidr=10.42.0.0/16", "--node-cidr-mask-size=24", "--service-cluster-ip-range=" + serviceCIDR, "--profiling=false", "--bind-address=127.0.0.1", "--secure-port=10257",
		"--v=0"}
	for _, a := range cfg.list("kube-controller-manager-arg") {
		cmArgs = append(cmArgs, "--"+strings.TrimPrefix(a, "--"))
	}
	p.start("kube-controller-manager", kube, cmArgs...)
	schedArgs := []string{"scheduler", "--kubeconfig=" + adminKubeconfig, "--leader-elect=false", "--profiling=false", "--bind-address=127.0.0.1", "--secure-port=10259", "--v=0"}
	for _, a := range cfg.list("kube-scheduler-arg") {
		schedArgs = append(schedArgs, "--"+strings.TrimPrefix(a, "--"))
	}
	p.start("kube-scheduler", kube, schedArgs...)
	labels := append([]string{"node-role.kubernetes.io/control-plane=true", "node-role.kubernetes.io/master=true"}, cfg.list("node-label")...)
	p.start("node", kube, nodeArgs(adminKubeconfig, name, ip, ip, labels)...)
	startKubeProxy(p, cfg, adminKubeconfig, name)
	if err := os.MkdirAll(manifestsDir, 0o755); err != nil {
		fatal("%v", err)
	}
	// K3s's deploy controller: Addons, objectset labels, pruning (cmd/kube/deploy.go).
	p.start("deploy", kube, "deploy", "--kubeconfig="+adminKubeconfig, "--dir="+manifestsDir)
	sdNotify("READY=1")
	info("k3s is up and running")
	p.run(nil)
}

func nodeArgs(kubeconfig, name, ip, apiHost string, labels []string) []string {
	return []string{"node", "--kubeconfig=" + kubeconfig, "--node-name=" + name, "--node-ip=" + ip, "--api-host=" + apiHost, "--api-port=6443",
		"--bin-dir=" + binDir, "--version=" + kubeletVersion(), "--labels=" + strings.Join(labels, ",")}
}

// kubeletVersion is the version a K3s node reports: the Kubernetes version with K3s's suffix.
func kubeletVersion() string { return Version }

func nodeCredential(token string) string {
	sum := sha256.Sum256([]byte("play-lab-node:" + token))
	return hex.EncodeToString(sum[:])
}

func kubeconfigText(server string, ca []byte, token string) string {
	cluster := "    certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca)
	if ca == nil {
		// An agent has no CA yet (K3s pins it from the token's hash); the lab's agents do not check it.
		cluster = "    insecure-skip-tls-verify: true"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster:
%s
    server: %s
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    token: %s
`, cluster, server, token)
}

func nodeName(cfg config) string {
	if n := cfg.str("node-name", ""); n != "" {
		return n
	}
	h, _ := os.Hostname()
	return h
}

var firstIPv4 = regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)/`)

// nodeIP is node-ip, else the host's first global IPv4 address, as K3s picks it.
func nodeIP(cfg config) string {
	if ips := cfg.list("node-ip"); len(ips) > 0 {
		return ips[0]
	}
	out, _ := exec.Command("ip", "-4", "-o", "addr", "show", "scope", "global").Output()
	if m := firstIPv4.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return "127.0.0.1"
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		fatal("random: %v", err)
	}
	return hex.EncodeToString(b)
}

func readOrCreate(path, fresh string) string {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b))
	}
	writeFile(path, fresh+"\n", 0o600)
	return fresh
}

func writeFile(path, text string, mode os.FileMode) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fatal("%v", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), mode); err != nil {
		fatal("%v", err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		fatal("%v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		fatal("%v", err)
	}
}

func sdNotify(message string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		warn("sd_notify: %v", err)
		return
	}
	defer conn.Close()
	_, _ = conn.Write([]byte(message))
}

// insecure is for the lab's own health checks of endpoints whose CA it just made.
var insecure = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
