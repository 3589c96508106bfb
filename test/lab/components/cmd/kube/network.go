package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podNetwork gives pods that are not on the host network an address of their own, as flannel's
// host-gw backend does: each node's pod CIDR (Node.spec.podCIDR, allocated by the real
// kube-controller-manager) sits on bridge cni0, each pod gets a network namespace with a veth on
// it, and every node routes the other nodes' pod CIDRs via their addresses. Traffic between a
// host and a pod on another node is then forwarded, not delivered to the node's input chain, as
// it is with flannel (so the host firewall sees it as it would on a real cluster).
type podNetwork struct {
	n       *node
	mu      sync.Mutex
	cidr    *net.IPNet
	gateway net.IP
	used    map[string]types.UID
	// next is where the search for a free address starts: after the last one given, as CNI's
	// host-local IPAM does, so a pod's address is not reused by the next pod at once.
	next int
}

const bridge = "cni0"

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setUp waits for the node's pod CIDR and brings up the bridge.
func (p *podNetwork) setUp(ctx context.Context) error {
	for {
		nd, err := p.n.client.CoreV1().Nodes().Get(ctx, p.n.name, metav1.GetOptions{})
		if err == nil && nd.Spec.PodCIDR != "" {
			_, cidr, err := net.ParseCIDR(nd.Spec.PodCIDR)
			if err != nil {
				return err
			}
			p.cidr = cidr
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	p.gateway = addr(p.cidr, 1)
	p.used = map[string]types.UID{}
	// Pods of an earlier run of the agent are gone (their processes died with it): so are their networks.
	if stale, err := filepath.Glob("/run/netns/pod-*"); err == nil {
		for _, ns := range stale {
			_ = run("ip", "netns", "del", filepath.Base(ns))
		}
	}
	ones, _ := p.cidr.Mask.Size()
	_ = os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	if exec.Command("ip", "link", "show", bridge).Run() != nil {
		if err := run("ip", "link", "add", bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	// A bridge left by an earlier cluster on this host keeps that cluster's pod CIDR, and a route
	// to this node's new CIDR via another node may be left too: with either, replies to this
	// node's pods go astray. The bridge gets exactly this CIDR, and the only route to it is the
	// bridge's own.
	_ = run("ip", "addr", "flush", "dev", bridge)
	for i := 0; i < 16 && run("ip", "route", "del", p.cidr.String()) == nil; i++ {
	}
	steps := [][]string{
		{"ip", "addr", "add", fmt.Sprintf("%s/%d", p.gateway, ones), "dev", bridge},
		{"ip", "link", "set", bridge, "up"},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			return err
		}
	}
	go p.routes(ctx)
	return nil
}

// routes keeps a route to every other node's pod CIDR via that node.
func (p *podNetwork) routes(ctx context.Context) {
	for {
		nodes, err := p.n.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, nd := range nodes.Items {
				if nd.Name == p.n.name || nd.Spec.PodCIDR == "" {
					continue
				}
				for _, a := range nd.Status.Addresses {
					if a.Type == corev1.NodeInternalIP {
						if err := run("ip", "route", "replace", nd.Spec.PodCIDR, "via", a.Address); err != nil {
							fmt.Fprintln(os.Stderr, "node: route:", err)
						}
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func addr(cidr *net.IPNet, i int) net.IP {
	ip := make(net.IP, 4)
	copy(ip, cidr.IP.To4())
	ip[3] += byte(i)
	return ip
}

func nsName(uid types.UID) string { return "pod-" + string(uid)[:8] }

// attach makes the pod's network namespace and address; it is idempotent for a pod.
func (p *podNetwork) attach(uid types.UID) (string, string, error) {
	if p.cidr == nil {
		return "", "", fmt.Errorf("the node has no pod network yet (no podCIDR)")
	}
	p.mu.Lock()
	var ip net.IP
	for k := 0; k < 253; k++ {
		i := 2 + (max(p.next-2, 0)+k)%253
		cand := addr(p.cidr, i)
		if owner, taken := p.used[cand.String()]; !taken || owner == uid {
			ip = cand
			p.used[cand.String()] = uid
			p.next = i + 1
			break
		}
	}
	p.mu.Unlock()
	if ip == nil {
		return "", "", fmt.Errorf("pod network %s is full", p.cidr)
	}
	ns := nsName(uid)
	host := "veth" + string(uid)[:8]
	_ = run("ip", "netns", "del", ns)
	_ = run("ip", "link", "del", host)
	ones, _ := p.cidr.Mask.Size()
	steps := [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "link", "set", host, "master", bridge, "up"},
		{"ip", "-n", ns, "addr", "add", fmt.Sprintf("%s/%d", ip, ones), "dev", "eth0"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
		{"ip", "-n", ns, "route", "add", "default", "via", p.gateway.String()},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			p.detach(uid)
			return "", "", err
		}
	}
	// The node may still hold a neighbour entry for the address from a pod that had it before
	// (its MAC gone with it): packets for the new pod would go there until the entry failed, and
	// then draw "host unreachable". CNI's bridge plugin announces a new pod by gratuitous ARP; the
	// stale entry goes here.
	_ = run("ip", "neigh", "flush", "to", ip.String(), "dev", bridge)
	return filepath.Join("/run/netns", ns), ip.String(), nil
}

func (p *podNetwork) detach(uid types.UID) {
	_ = run("ip", "netns", "del", nsName(uid))
	_ = run("ip", "link", "del", "veth"+string(uid)[:8])
	p.mu.Lock()
	for ip, owner := range p.used {
		if owner == uid {
			delete(p.used, ip)
		}
	}
	p.mu.Unlock()
}
