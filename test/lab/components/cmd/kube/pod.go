package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
)

var everything = labels.Everything()

// podRunner runs one pod as the kubelet would, with host processes for containers: its init
// containers one after another to completion, then all its containers side by side, each
// restarted when it exits (restartPolicy Always). It reports the pod's status from theirs.
type podRunner struct {
	n        *node
	pod      *corev1.Pod
	dir      string
	mu       sync.Mutex
	stopping bool
	// terminating: the pod is being stopped for good (deleted), by one goroutine.
	terminating bool
	done        chan struct{}
	stopped     chan struct{}
	// ip is the pod's address: the node's on the host network, else one of the node's pod CIDR.
	ip    string
	netns string

	inits, containers []*containerRunner
	initialized       bool
	// waiting holds the pod's reason for not starting containers yet, shown on every one of them.
	waiting *corev1.ContainerStateWaiting
	started metav1.Time
}

func newPodRunner(n *node, pod *corev1.Pod) *podRunner {
	r := &podRunner{n: n, pod: pod.DeepCopy(), dir: filepath.Join(n.stateDir, string(pod.UID)), done: make(chan struct{}), stopped: make(chan struct{}), started: metav1.Now()}
	for _, c := range r.pod.Spec.InitContainers {
		r.inits = append(r.inits, &containerRunner{p: r, spec: c, init: true})
	}
	for _, c := range r.pod.Spec.Containers {
		r.containers = append(r.containers, &containerRunner{p: r, spec: c})
	}
	return r
}

func (r *podRunner) run(ctx context.Context) {
	defer close(r.done)
	for _, c := range append(append([]*containerRunner{}, r.inits...), r.containers...) {
		img, why := r.n.image(c.spec.Image)
		if img == nil {
			r.wait(ctx, "ImageNotRunnableInLab", why)
			return
		}
		c.img = img
	}
	r.ip = r.n.ip
	if !r.pod.Spec.HostNetwork {
		defer r.n.net.detach(r.pod.UID)
		for r.netns == "" && !r.isStopping() && ctx.Err() == nil {
			netns, ip, err := r.n.net.attach(r.pod.UID)
			if err == nil {
				r.netns, r.ip = netns, ip
				break
			}
			r.wait(ctx, "ContainerCreating", "pod network: "+err.Error())
			r.sleep(ctx, 2*time.Second)
		}
	}
	r.wait(ctx, "PodInitializing", "")
	for _, c := range r.inits {
		if !c.runToCompletion(ctx) {
			return
		}
	}
	r.mu.Lock()
	r.initialized, r.waiting = true, nil
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range r.containers {
		wg.Add(1)
		go func() { defer wg.Done(); c.keepRunning(ctx) }()
	}
	wg.Wait()
}

// wait shows every container waiting for the pod, for a reason of the pod's.
func (r *podRunner) wait(ctx context.Context, reason, message string) {
	r.mu.Lock()
	r.waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: message}
	r.mu.Unlock()
	r.report(ctx)
}

// status writes the pod's status as the kubelet computes it from its containers': Running once
// initialized and every container started, Ready while every container is.
func (r *podRunner) status(s *corev1.PodStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.InitContainerStatuses = nil
	for _, c := range r.inits {
		s.InitContainerStatuses = append(s.InitContainerStatuses, c.status(r.waiting))
	}
	s.ContainerStatuses = nil
	ready, running := r.initialized, r.initialized
	for _, c := range r.containers {
		cs := c.status(r.waiting)
		ready = ready && cs.Ready
		running = running && cs.State.Running != nil
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}
	if running {
		s.Phase = corev1.PodRunning
	} else if s.Phase != corev1.PodRunning {
		s.Phase = corev1.PodPending
	}
	s.Reason, s.Message = "", ""
	initialized, readyCond := corev1.ConditionFalse, corev1.ConditionFalse
	if r.initialized {
		initialized = corev1.ConditionTrue
	}
	if ready {
		readyCond = corev1.ConditionTrue
	}
	now := metav1.Now()
	set := func(t corev1.PodConditionType, st corev1.ConditionStatus) corev1.PodCondition {
		for _, old := range s.Conditions {
			if old.Type == t && old.Status == st {
				return old
			}
		}
		return corev1.PodCondition{Type: t, Status: st, LastTransitionTime: now}
	}
	s.Conditions = []corev1.PodCondition{set(corev1.PodScheduled, corev1.ConditionTrue), set(corev1.PodInitialized, initialized), set(corev1.ContainersReady, readyCond), set(corev1.PodReady, readyCond)}
	s.HostIP, s.HostIPs = r.n.ip, []corev1.HostIP{{IP: r.n.ip}}
	if r.ip != "" {
		s.PodIP, s.PodIPs = r.ip, []corev1.PodIP{{IP: r.ip}}
	}
	if s.StartTime == nil {
		s.StartTime = &r.started
	}
}

// report writes the pod's current status, retrying on conflicts with other writers. Containers
// report concurrently; each write computes the status afresh, so the last one is current.
func (r *podRunner) report(ctx context.Context) {
	pods := r.n.client.CoreV1().Pods(r.pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, r.pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		// A terminating pod's status is still reported, as the kubelet does: a readiness probe
		// that fails during the grace period takes the endpoint out (serving: false).
		if cur.UID != r.pod.UID {
			return nil
		}
		r.status(&cur.Status)
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) {
		fmt.Fprintf(os.Stderr, "node: pod %s/%s status: %v\n", r.pod.Namespace, r.pod.Name, err)
	}
}

func (r *podRunner) isStopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopping
}

func (r *podRunner) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-r.stopped:
	case <-time.After(d):
	}
}

// hostname is the pod's host name, as the kubelet gives it: spec.hostname, else the pod's name
// (at most 63 characters); on the host network, the node's.
func (r *podRunner) hostname() string {
	if r.pod.Spec.HostNetwork {
		return r.n.name
	}
	name := r.pod.Spec.Hostname
	if name == "" {
		name = r.pod.Name
	}
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-.")
	}
	return name
}

// terminate marks the pod as stopping for good; true only for the first caller, who stops it.
func (r *podRunner) terminate() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.terminating {
		return false
	}
	r.terminating = true
	return true
}

// stop ends the pod as the kubelet does: each container's preStop hook, then SIGTERM, then
// SIGKILL once the grace period (the deletion's, else the pod's) has passed since the start.
func (r *podRunner) stop(grace time.Duration) {
	deadline := time.Now().Add(grace)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var hooks sync.WaitGroup
	for _, c := range r.containers {
		hooks.Add(1)
		go func() { defer hooks.Done(); c.preStop(ctx) }()
	}
	hooks.Wait()
	r.mu.Lock()
	if !r.stopping {
		r.stopping = true
		close(r.stopped)
	}
	all := append(append([]*containerRunner{}, r.inits...), r.containers...)
	r.mu.Unlock()
	for _, c := range all {
		c.kill(sigterm)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		for _, c := range all {
			c.kill(sigkill)
		}
		<-r.done
	}
	cgroupRemove(filepath.Join(r.n.cgroups, string(r.pod.UID)))
}

// gracePeriod is how long a pod gets to stop: the deletion's grace period, else its spec's.
func gracePeriod(pod *corev1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	return time.Duration(deref(pod.Spec.TerminationGracePeriodSeconds, 30)) * time.Second
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
