package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The Debian trixie root bound into every host (test/lab/frr-image.ts) holds the nft the lab's
// K3s bundles for kube-proxy: K3s ships nftables 1.1.1 (static), trixie has 1.1.3. Not the hosts'
// bookworm 1.0.6, which is what a Debian 12 node would offer: 1.0.6 crashes on tables a newer nft
// wrote, and play's firewall must then use K3s's own (src/resources/nft-command.ts), as here.
const userspaceRoot = "/opt/play-lab/images/frr"

// startKubeProxy runs the real kube-proxy beside the node, as K3s runs it: K3s's defaults, then
// the config's kube-proxy-arg. Only in nftables mode: K3s bundles nft, iptables and ipset, and
// the lab has only nft to give it (see userspaceRoot), and its kernel has no IPVS. In the other
// modes it says so and runs none: Services' virtual addresses are then not routed, which no lab
// test needs.
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
	bin, err := nftCommand()
	if err != nil {
		fatal("kube-proxy: %v", err)
	}
	p.startWith("kube-proxy", []string{"PATH=" + bin + ":" + os.Getenv("PATH")}, component(), args...)
}

// nftCommand writes an nft where K3s keeps the one it bundles (k3s-root's bin/aux, which play's
// firewall uses too), running trixie's with its own loader and libraries (its glibc is newer than
// the host's), and returns the folder it is in.
func nftCommand() (string, error) {
	bin := dataDir + "/data/current/bin/aux"
	libs := userspaceRoot + "/usr/lib/x86_64-linux-gnu"
	if _, err := os.Stat(userspaceRoot + "/usr/sbin/nft"); err != nil {
		return "", fmt.Errorf("no nft in %s: %v", userspaceRoot, err)
	}
	script := fmt.Sprintf("#!/bin/sh\nexec %s/ld-linux-x86-64.so.2 --library-path %s %s/usr/sbin/nft \"$@\"\n",
		libs, libs, userspaceRoot)
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	tmp := filepath.Join(bin, ".nft.tmp")
	if err := os.WriteFile(tmp, []byte(script), 0o755); err != nil {
		return "", err
	}
	return bin, os.Rename(tmp, filepath.Join(bin, "nft"))
}
