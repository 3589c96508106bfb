package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// nodeConfig is what the node agent is told by the K3s stand-in that starts it.
type nodeConfig struct {
	kubeconfig, name, ip, apiHost, apiPort, binDir, frrRoot, stateDir, logDir, version string
	labels                                                                             map[string]string
}

// runNode is the lab's node agent: it stands in for the kubelet (and the container runtime). It
// registers the Node and keeps its lease, and runs the pods scheduled to it whose images are
// MetalLB's as processes of the host, from binaries built from MetalLB's source at the image's
// version (BINDIR/metallb-VERSION/{controller,speaker}). Their status is reported honestly:
// Running while the process runs, Ready only while the readiness probe answers. Any other pod
// stays Pending with a message saying why.
func runNode(args []string) int {
	fs := flag.NewFlagSet("node", flag.ExitOnError)
	var c nodeConfig
	var labels string
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig of the node's credential")
	fs.StringVar(&c.name, "node-name", "", "node name")
	fs.StringVar(&c.ip, "node-ip", "", "node address")
	fs.StringVar(&c.apiHost, "api-host", "", "API server address given to pods (KUBERNETES_SERVICE_HOST)")
	fs.StringVar(&c.apiPort, "api-port", "6443", "API server port given to pods")
	fs.StringVar(&c.binDir, "bin-dir", "/opt/play-lab/bin", "where MetalLB's binaries are, by version")
	fs.StringVar(&c.frrRoot, "frr-root", "/opt/play-lab/images/frr", "the root file system standing in for FRR's image")
	fs.StringVar(&c.stateDir, "state-dir", "/var/lib/play-lab/node", "pods' volumes")
	fs.StringVar(&c.logDir, "log-dir", "/var/log/play-lab/pods", "pods' output")
	fs.StringVar(&c.version, "version", "v1.34.2", "kubelet version reported")
	fs.StringVar(&labels, "labels", "", "node labels, k=v,...")
	_ = fs.Parse(args)
	c.labels = map[string]string{}
	for _, kv := range split(labels) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			c.labels[k] = v
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 1
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	n := &node{nodeConfig: c, client: client, pods: map[types.UID]*podRunner{}}
	if n.cgroups, err = podsCgroup(); err != nil {
		fmt.Fprintln(os.Stderr, "node: containers' cgroups:", err)
		return 1
	}
	// Containers an agent killed without stopping them left their processes behind.
	cgroupRemove(n.cgroups)
	for {
		if err = n.register(ctx); err == nil {
			break
		}
		fmt.Fprintln(os.Stderr, "node: register:", err)
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(2 * time.Second):
		}
	}
	go n.heartbeat(ctx)
	go func() {
		ca, err := n.clusterCA(ctx, cfg)
		if err == nil {
			err = n.serveLogs(ctx, ca)
		}
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "node: kubelet port (logs):", err)
		}
	}()
	n.net = &podNetwork{n: n}
	if err := n.net.setUp(ctx); err != nil {
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintln(os.Stderr, "node: pod network:", err)
		return 1
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", c.name).String()
	}))
	lister := factory.Core().V1().Pods().Lister()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	fmt.Fprintf(os.Stderr, "node %s: registered, running pods\n", c.name)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			n.stopAll()
			return 0
		case <-tick.C:
			n.sync(ctx, lister)
		}
	}
}

// clusterCA is the CA that signs the API server's kubelet client certificate: the server's own
// kubeconfig names it; an agent's does not (K3s's agents pin it from the token), so it is read
// from kube-root-ca.crt, which the controller-manager publishes once it runs.
func (n *node) clusterCA(ctx context.Context, cfg *rest.Config) ([]byte, error) {
	if len(cfg.TLSClientConfig.CAData) > 0 {
		return cfg.TLSClientConfig.CAData, nil
	}
	if cfg.TLSClientConfig.CAFile != "" {
		return os.ReadFile(cfg.TLSClientConfig.CAFile)
	}
	for {
		cm, err := n.client.CoreV1().ConfigMaps("kube-system").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err == nil && cm.Data["ca.crt"] != "" {
			return []byte(cm.Data["ca.crt"]), nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

type node struct {
	nodeConfig
	client kubernetes.Interface
	net    *podNetwork
	// cgroups is the cgroup holding the containers' cgroups, by pod UID and container name.
	cgroups string
	mu      sync.Mutex
	pods    map[types.UID]*podRunner
}

func (n *node) register(ctx context.Context) error {
	labels := map[string]string{"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": runtime.GOARCH, "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": runtime.GOARCH}
	for k, v := range n.labels {
		labels[k] = v
	}
	nodes := n.client.CoreV1().Nodes()
	existing, err := nodes.Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		existing, err = nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: labels}}, metav1.CreateOptions{})
	}
	if err != nil {
		return err
	}
	changed := false
	for k, v := range labels {
		if existing.Labels[k] != v {
			if existing.Labels == nil {
				existing.Labels = map[string]string{}
			}
			existing.Labels[k], changed = v, true
		}
	}
	if changed {
		if existing, err = nodes.Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	return n.updateStatus(ctx, existing)
}

func (n *node) updateStatus(ctx context.Context, nd *corev1.Node) error {
	now := metav1.Now()
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")}
	nd.Status.Capacity, nd.Status.Allocatable = capacity, capacity
	nd.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.ip}, {Type: corev1.NodeHostName, Address: n.name}}
	nd.Status.DaemonEndpoints.KubeletEndpoint.Port = 10250
	nd.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: n.version, OperatingSystem: "linux", Architecture: runtime.GOARCH, OSImage: "Debian GNU/Linux 12 (bookworm)", ContainerRuntimeVersion: "play-lab://host-processes"}
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
		for _, old := range nd.Status.Conditions {
			if old.Type == t && old.Status == s {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		return c
	}
	nd.Status.Conditions = []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "play lab node agent"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "play lab node agent"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "play lab node agent"),
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "play lab node agent is posting ready status"),
	}
	_, err := n.client.CoreV1().Nodes().UpdateStatus(ctx, nd, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the node's lease every 10 s and its status every 30 s, as the kubelet does:
// without them the node lifecycle controller marks the node unreachable after 40 s.
func (n *node) heartbeat(ctx context.Context) {
	leases := n.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	for i := 0; ; i++ {
		now := metav1.NewMicroTime(time.Now())
		lease, err := leases.Get(ctx, n.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: n.name}, Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(n.name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now}}, metav1.CreateOptions{})
		} else if err == nil {
			lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = ptr.To(n.name), ptr.To[int32](40), &now
			_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		}
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "node: lease:", err)
		}
		if i%3 == 0 {
			if nd, err := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{}); err == nil {
				if err := n.updateStatus(ctx, nd); err != nil && ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "node: status:", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}

func (n *node) sync(ctx context.Context, lister listersv1.PodLister) {
	pods, err := lister.List(everything)
	if err != nil {
		return
	}
	seen := map[types.UID]bool{}
	for _, pod := range pods {
		seen[pod.UID] = true
		n.mu.Lock()
		r := n.pods[pod.UID]
		n.mu.Unlock()
		if pod.DeletionTimestamp != nil {
			// Stopping takes up to the grace period (preStop hooks, a delayed shutdown): the
			// other pods of the node are not kept waiting for it.
			if r == nil {
				n.removePod(ctx, pod)
			} else if r.terminate() {
				go func(pod *corev1.Pod) {
					r.stop(gracePeriod(pod))
					n.forget(pod.UID)
					n.removePod(ctx, pod)
				}(pod)
			}
			continue
		}
		if r == nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
			r = newPodRunner(n, pod)
			n.mu.Lock()
			n.pods[pod.UID] = r
			n.mu.Unlock()
			go r.run(ctx)
		}
	}
	n.mu.Lock()
	var gone []*podRunner
	for uid, r := range n.pods {
		if !seen[uid] {
			gone = append(gone, r)
			delete(n.pods, uid)
		}
	}
	n.mu.Unlock()
	for _, r := range gone {
		if r.terminate() {
			go r.stop(gracePeriod(r.pod))
		}
	}
}

func (n *node) forget(uid types.UID) {
	n.mu.Lock()
	delete(n.pods, uid)
	n.mu.Unlock()
}

// removePod finishes a deletion the API server started, as the kubelet does once the
// containers are gone.
func (n *node) removePod(ctx context.Context, pod *corev1.Pod) {
	err := n.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		fmt.Fprintln(os.Stderr, "node: delete pod:", err)
	}
	_ = os.RemoveAll(filepath.Join(n.stateDir, string(pod.UID)))
}

func (n *node) stopAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range n.pods {
		if !r.terminate() {
			continue // being stopped already, by its deletion
		}
		wg.Add(1)
		go func(r *podRunner) { defer wg.Done(); r.stop(gracePeriod(r.pod)) }(r)
	}
	wg.Wait()
}
