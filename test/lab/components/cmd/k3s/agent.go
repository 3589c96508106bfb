package main

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"
)

var serverURL = regexp.MustCompile(`^https://([^:/]+|\[[^\]]+\])(?::(\d+))?/?$`)

func agent(args []string) {
	cfg := loadConfig(splitFlags(args), agentKeys)
	server, token := cfg.str("server", ""), cfg.str("token", "")
	if server == "" {
		fatal("--server is required")
	}
	if token == "" {
		fatal("--token is required")
	}
	m := serverURL.FindStringSubmatch(server)
	if m == nil {
		fatal("invalid server url %s: expected https://HOST:PORT", server)
	}
	host, port := strings.Trim(m[1], "[]"), m[2]
	if port == "" {
		port = "6443"
	}
	effective, _ := json.MarshalIndent(redacted(cfg), "", "  ")
	writeFile(dataDir+"/agent/standin-effective-config.json", string(effective)+"\n", 0o600)
	info("Starting k3s agent %s (play lab shell around real Kubernetes components, not K3s)", Version)
	kube := component()
	credential := nodeCredential(token)
	kubeconfig := dataDir + "/agent/kubelet.kubeconfig"
	writeFile(kubeconfig, kubeconfigText("https://"+hostPort(host, port), nil, credential), 0o600)
	// The API server, as this node: the join check and the wait for the node's registration.
	get := func(path string) (*http.Response, error) {
		req, err := http.NewRequest("GET", "https://"+hostPort(host, port)+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+credential)
		return insecure.Do(req)
	}
	p := newSupervisor()
	// As K3s: an agent joins only with the cluster's token; with a wrong one it keeps retrying, never ready.
	for {
		resp, err := get("/api")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
			info("Failed to join the cluster at %s:%s: %s", host, port, resp.Status)
		} else {
			info("Waiting to connect to server %s:%s: %v", host, port, err)
		}
		select {
		case <-p.signals:
			info("Shutting down")
			os.Exit(0)
		case <-time.After(2 * time.Second):
		}
	}
	name, ip := nodeName(cfg), nodeIP(cfg)
	p.start("node", kube, nodeArgs(kubeconfig, name, ip, host, cfg.list("node-label"))...)
	startKubeProxy(p, cfg, kubeconfig, name)
	// Ready once the node has registered with its addresses, as K3s's agent is once its kubelet has.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := get("/api/v1/nodes/" + name)
		if err != nil {
			continue
		}
		var nd struct {
			Status struct {
				Addresses []struct{ Address string } `json:"addresses"`
			} `json:"status"`
		}
		err = json.NewDecoder(resp.Body).Decode(&nd)
		resp.Body.Close()
		if err == nil && resp.StatusCode == 200 && len(nd.Status.Addresses) > 0 {
			break
		}
	}
	sdNotify("READY=1")
	info("Connected to server %s:%s", host, port)
	p.run(nil)
}

func hostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
