package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The hosts' package repository (test/lab/image.ts binds it into every host).
const debRepo = "/srv/debs"

// nft and the libraries the hosts' image lacks: what K3s bundles for kube-proxy's nftables mode.
var nftPackages = []string{"nftables", "libnftables1", "libnftnl11", "libjansson4"}

// startKubeProxy runs the real kube-proxy beside the node, as K3s runs it: K3s's defaults, then
// the config's kube-proxy-arg. Only in nftables mode: K3s bundles nft, iptables and ipset, and
// the lab has only nft to give it (unpacked from Debian's package, as K3s unpacks its own), and
// its kernel has no IPVS. In the other modes it says so and runs none: Services' virtual
// addresses are then not routed, which no lab test needs.
func startKubeProxy(p *supervisor, cfg config, kubeconfig, name string) {
	if cfg.str("disable-kube-proxy", "false") == "true" {
		return
	}
	// K3s's default mode, which kube-proxy-arg may override (the last --proxy-mode wins).
	mode := "iptables"
	args := []string{"proxy", "--kubeconfig=" + kubeconfig, "--hostname-override=" + name,
		"--cluster-cidr=" + cfg.str("cluster-cidr", "10.42.0.0/16"), "--proxy-mode=" + mode,
		"--healthz-bind-address=127.0.0.1", "--metrics-bind-address=127.0.0.1:10249",
		// K3s's: leave the kernel's conntrack settings alone (a network namespace may not change them).
		"--conntrack-max-per-core=0", "--conntrack-tcp-timeout-established=0s", "--conntrack-tcp-timeout-close-wait=0s"}
	for _, a := range cfg.list("kube-proxy-arg") {
		arg := "--" + strings.TrimPrefix(a, "--")
		if v, ok := strings.CutPrefix(arg, "--proxy-mode="); ok {
			mode = v
		}
		args = append(args, arg)
	}
	if mode != "nftables" {
		warn("kube-proxy not run: the play lab runs it in nftables mode only (no iptables userspace, no IPVS in its kernel), and proxy-mode is %s", mode)
		return
	}
	root, err := nftUserspace()
	if err != nil {
		fatal("kube-proxy: %v", err)
	}
	libs, _ := filepath.Glob(root + "/usr/lib/*-linux-gnu")
	p.startWith("kube-proxy", []string{
		"PATH=" + root + "/usr/sbin:" + os.Getenv("PATH"),
		"LD_LIBRARY_PATH=" + strings.Join(libs, ":"),
	}, component(), args...)
}

// nftUserspace unpacks nft into K3s's data directory once, and returns where.
func nftUserspace() (string, error) {
	root := dataDir + "/data/nft"
	if _, err := os.Stat(root + "/usr/sbin/nft"); err == nil {
		return root, nil
	}
	tmp := root + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	for _, pkg := range nftPackages {
		debs, _ := filepath.Glob(debRepo + "/" + pkg + "_*.deb")
		if len(debs) == 0 {
			return "", fmt.Errorf("%s: no %s package to unpack nft from", debRepo, pkg)
		}
		if out, err := exec.Command("dpkg-deb", "-x", debs[0], tmp).CombinedOutput(); err != nil {
			return "", fmt.Errorf("dpkg-deb -x %s: %v: %s", debs[0], err, out)
		}
	}
	if err := os.Rename(tmp, root); err != nil {
		return "", err
	}
	return root, nil
}
