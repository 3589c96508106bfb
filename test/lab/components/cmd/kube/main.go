// Command kube is the lab's one binary of real Kubernetes components, chosen by the first
// argument (as K3s bundles them): the upstream kube-apiserver, kube-controller-manager,
// kube-scheduler, kube-proxy and kubectl, an embedded etcd, and two helpers of the lab's own: pki (the
// cluster's certificates) and node (the node agent that stands in for the kubelet; see node.go).
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	kubectl "k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kube apiserver|controller-manager|scheduler|proxy|kubectl|etcd|pki|node|podexec [ARGS...]")
		os.Exit(2)
	}
	name, args := os.Args[1], os.Args[2:]
	var command *cobra.Command
	switch name {
	case "apiserver":
		command = apiserver.NewAPIServerCommand()
	case "controller-manager":
		command = controllermanager.NewControllerManagerCommand()
	case "proxy":
		command = proxy.NewProxyCommand()
	case "scheduler":
		command = scheduler.NewSchedulerCommand()
	case "kubectl":
		command = kubectl.NewDefaultKubectlCommand()
		command.SetArgs(args)
		if err := cli.RunNoErrOutput(command); err != nil {
			// As kubectl's own main: its errors printed its way, with its exit codes.
			cmdutil.CheckErr(err)
		}
		os.Exit(0)
	case "etcd":
		os.Exit(runEtcd(args))
	case "pki":
		os.Exit(runPKI(args))
	case "node":
		os.Exit(runNode(args))
	case "deploy":
		os.Exit(runDeploy(args))
	case "podexec":
		os.Exit(runPodExec(args))
	default:
		fmt.Fprintf(os.Stderr, "kube: unknown component %q\n", name)
		os.Exit(2)
	}
	command.SetArgs(args)
	os.Exit(cli.Run(command))
}
