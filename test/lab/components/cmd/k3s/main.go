// Command k3s is the play lab's K3s: a thin shell, NOT K3s, around real Kubernetes components.
//
// K3s cannot be built or downloaded here. This shell keeps K3s's interface where play's roles
// meet it (the config file and its drop-ins, the token and joining, the kubeconfig it writes and
// its mode, the auto-deploy manifests directory, `k3s kubectl`, a Type=notify service) and runs
// the real kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kube-proxy (nftables
// mode only, see proxy.go) and kubectl built from upstream source (BIN/kube, see ../kube), plus
// the lab's node agent in place of the kubelet.
// test/lab/README.md says exactly what is real and what is stand-in.
package main

import (
	"fmt"
	"os"
	"syscall"
)

// Version is K3s's release string for the Kubernetes version built (set at build time).
var Version = "v0.0.0+k3s1"

// binDir is where the lab binds the built components into every host, read-only.
const binDir = "/opt/play-lab/bin"

const dataDir = "/var/lib/rancher/k3s"

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "level=fatal msg=%q\n", fmt.Sprintf(format, args...))
	os.Exit(1)
}

func info(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "level=info msg=%q\n", fmt.Sprintf(format, args...))
}

func warn(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "level=warning msg=%q\n", fmt.Sprintf(format, args...))
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Printf("k3s %s: the play lab's shell around real Kubernetes components, not K3s\nusage: k3s server|agent|kubectl|--version ...\n", Version)
		return
	}
	switch args[0] {
	case "--version", "-v", "version":
		fmt.Printf("k3s version %s (play lab: real Kubernetes components in a K3s-shaped shell, not K3s)\n", Version)
	case "server":
		server(args[1:])
	case "agent":
		agent(args[1:])
	case "kubectl":
		kubectl(args[1:])
	case "check-config":
		fmt.Println("play lab: no kernel checks made")
	default:
		fmt.Fprintf(os.Stderr, "k3s (play lab): unknown command %s\n", args[0])
		os.Exit(1)
	}
}

// kubectl is the real kubectl, with K3s's default kubeconfig.
func kubectl(args []string) {
	env := os.Environ()
	// As K3s: its kubeconfig when there is one (a server), else kubectl's own default.
	if _, err := os.Stat(defaultKubeconfig); err == nil && os.Getenv("KUBECONFIG") == "" {
		env = append(env, "KUBECONFIG="+defaultKubeconfig)
	}
	bin := component()
	err := syscall.Exec(bin, append([]string{bin, "kubectl"}, args...), env)
	fatal("exec %s: %v", bin, err)
}

// component is the path of the components' binary, which the lab binds into every host.
func component() string {
	bin := binDir + "/kube"
	if _, err := os.Stat(bin); err != nil {
		fatal("the Kubernetes components are not at %s (the play lab binds them into its hosts): %v", bin, err)
	}
	return bin
}
