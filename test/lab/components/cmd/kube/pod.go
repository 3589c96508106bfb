package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

var everything = labels.Everything()

// metallbImage is the only kind of image this node can run: MetalLB's controller or speaker.
var metallbImage = regexp.MustCompile(`^quay\.io/metallb/(controller|speaker):(v\d+\.\d+\.\d+)$`)

// podRunner runs one pod's single container as a host process, restarting it when it exits
// (restartPolicy Always), and reports the pod's status.
type podRunner struct {
	n        *node
	pod      *corev1.Pod
	dir      string
	mu       sync.Mutex
	cmd      *exec.Cmd
	stopping bool
	done     chan struct{}
	stopped  chan struct{}
	restarts int32
	started  metav1.Time
	ready    bool
	// ip is the pod's address: the node's on the host network, else one of the node's pod CIDR.
	ip    string
	netns string
}

func newPodRunner(n *node, pod *corev1.Pod) *podRunner {
	return &podRunner{n: n, pod: pod.DeepCopy(), dir: filepath.Join(n.stateDir, string(pod.UID)), done: make(chan struct{}), stopped: make(chan struct{})}
}

func (r *podRunner) run(ctx context.Context) {
	defer close(r.done)
	pod := r.pod
	binary, why := r.binary()
	if binary == "" {
		r.report(ctx, func(s *corev1.PodStatus) { r.pending(s, "ImageNotRunnableInLab", why) })
		return
	}
	c := pod.Spec.Containers[0]
	r.ip = r.n.ip
	if !pod.Spec.HostNetwork {
		defer r.n.net.detach(pod.UID)
		for r.netns == "" && !r.isStopping() && ctx.Err() == nil {
			netns, ip, err := r.n.net.attach(pod.UID)
			if err == nil {
				r.netns, r.ip = netns, ip
				break
			}
			r.report(ctx, func(s *corev1.PodStatus) { r.pending(s, "ContainerCreating", "pod network: "+err.Error()) })
			r.sleep(ctx, 2*time.Second)
		}
	}
	backoff := 2 * time.Second
	for !r.isStopping() && ctx.Err() == nil {
		env, binds, err := r.prepare(ctx, c)
		if err != nil {
			r.report(ctx, func(s *corev1.PodStatus) { r.pending(s, "ContainerCreating", err.Error()) })
			r.sleep(ctx, 2*time.Second)
			continue
		}
		exited, err := r.start(ctx, binary, c, env, binds)
		if err != nil {
			r.report(ctx, func(s *corev1.PodStatus) { r.pending(s, "RunContainerError", err.Error()) })
			r.sleep(ctx, backoff)
			continue
		}
		r.watch(ctx, c, exited)
		if r.isStopping() || ctx.Err() != nil {
			return
		}
		r.restarts++
		r.report(ctx, func(s *corev1.PodStatus) {
			r.pending(s, "CrashLoopBackOff", fmt.Sprintf("the process exited; restarting in %s", backoff))
		})
		r.sleep(ctx, backoff)
		if backoff < 40*time.Second {
			backoff *= 2
		}
	}
}

// binary is the MetalLB binary built for the pod's image, or "" and why the pod cannot run here.
func (r *podRunner) binary() (string, string) {
	if len(r.pod.Spec.InitContainers) > 0 || len(r.pod.Spec.Containers) != 1 {
		return "", "the play lab's node agent runs only single-container pods without init containers, from MetalLB's images"
	}
	image := r.pod.Spec.Containers[0].Image
	m := metallbImage.FindStringSubmatch(image)
	if m == nil {
		return "", fmt.Sprintf("image %s: the play lab's node agent runs only MetalLB's controller and speaker (as host processes); this pod stays Pending", image)
	}
	path := filepath.Join(r.n.binDir, "metallb-"+m[2], m[1])
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Sprintf("image %s: no binary built for MetalLB %s in %s", image, m[2], r.n.binDir)
	}
	return path, ""
}

// prepare resolves the container's environment and writes its volumes.
func (r *podRunner) prepare(ctx context.Context, c corev1.Container) ([]string, []string, error) {
	pod := r.pod
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + r.n.name, "KUBERNETES_SERVICE_HOST=" + r.n.apiHost, "KUBERNETES_SERVICE_PORT=" + r.n.apiPort}
	for _, e := range c.Env {
		v, err := r.envValue(ctx, e)
		if err != nil {
			return nil, nil, err
		}
		env = append(env, e.Name+"="+v)
	}
	volumes := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		dir := filepath.Join(r.dir, "volumes", v.Name)
		if err := r.writeVolume(ctx, v, dir); err != nil {
			return nil, nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		volumes[v.Name] = dir
	}
	var binds []string
	for _, m := range c.VolumeMounts {
		src, ok := volumes[m.Name]
		if !ok {
			return nil, nil, fmt.Errorf("volume mount %s: no such volume", m.Name)
		}
		if m.SubPath != "" {
			src = filepath.Join(src, m.SubPath)
		}
		b := src + ":" + m.MountPath
		if m.ReadOnly {
			b += ":ro"
		}
		binds = append(binds, b)
	}
	return env, binds, nil
}

func (r *podRunner) envValue(ctx context.Context, e corev1.EnvVar) (string, error) {
	if e.ValueFrom == nil {
		return e.Value, nil
	}
	pod := r.pod
	switch {
	case e.ValueFrom.FieldRef != nil:
		switch e.ValueFrom.FieldRef.FieldPath {
		case "metadata.name":
			return pod.Name, nil
		case "metadata.namespace":
			return pod.Namespace, nil
		case "spec.nodeName":
			return pod.Spec.NodeName, nil
		case "spec.serviceAccountName":
			return pod.Spec.ServiceAccountName, nil
		case "status.hostIP":
			return r.n.ip, nil
		case "status.podIP":
			return r.ip, nil
		}
		return "", fmt.Errorf("env %s: field %s is not supported by the lab's node agent", e.Name, e.ValueFrom.FieldRef.FieldPath)
	case e.ValueFrom.SecretKeyRef != nil:
		ref := e.ValueFrom.SecretKeyRef
		s, err := r.n.client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil || s.Data[ref.Key] == nil {
			if ptr.Deref(ref.Optional, false) {
				return "", nil
			}
			return "", fmt.Errorf("env %s: secret %s key %s not found", e.Name, ref.Name, ref.Key)
		}
		return string(s.Data[ref.Key]), nil
	case e.ValueFrom.ConfigMapKeyRef != nil:
		ref := e.ValueFrom.ConfigMapKeyRef
		cm, err := r.n.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		v, ok := "", false
		if err == nil {
			v, ok = cm.Data[ref.Key]
		}
		if !ok && !ptr.Deref(ref.Optional, false) {
			return "", fmt.Errorf("env %s: configmap %s key %s not found", e.Name, ref.Name, ref.Key)
		}
		return v, nil
	}
	return "", fmt.Errorf("env %s: this kind of valueFrom is not supported by the lab's node agent", e.Name)
}

// writeVolume writes a volume's files as the kubelet would: secrets, config maps, the projected
// service account token (a real bound token from the TokenRequest API), empty dirs.
func (r *podRunner) writeVolume(ctx context.Context, v corev1.Volume, dir string) error {
	pod := r.pod
	files := map[string][]byte{}
	switch {
	case v.Secret != nil:
		s, err := r.n.client.CoreV1().Secrets(pod.Namespace).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) && ptr.Deref(v.Secret.Optional, false) {
				break
			}
			return err
		}
		for k, b := range s.Data {
			files[k] = b
		}
	case v.ConfigMap != nil:
		cm, err := r.n.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) && ptr.Deref(v.ConfigMap.Optional, false) {
				break
			}
			return err
		}
		for k, s := range cm.Data {
			files[k] = []byte(s)
		}
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			switch {
			case src.ServiceAccountToken != nil:
				token, err := r.token(ctx, src.ServiceAccountToken)
				if err != nil {
					return err
				}
				files[src.ServiceAccountToken.Path] = []byte(token)
			case src.ConfigMap != nil:
				cm, err := r.n.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, src.ConfigMap.Name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				for _, item := range src.ConfigMap.Items {
					files[item.Path] = []byte(cm.Data[item.Key])
				}
			case src.DownwardAPI != nil:
				for _, item := range src.DownwardAPI.Items {
					if item.FieldRef != nil && item.FieldRef.FieldPath == "metadata.namespace" {
						files[item.Path] = []byte(pod.Namespace)
					}
				}
			}
		}
	case v.EmptyDir != nil:
	default:
		return fmt.Errorf("this kind of volume is not supported by the lab's node agent")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
			return err
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return err
		}
	}
	return nil
}

func (r *podRunner) token(ctx context.Context, p *corev1.ServiceAccountTokenProjection) (string, error) {
	pod := r.pod
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(ptr.Deref(p.ExpirationSeconds, 3607)),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if p.Audience != "" {
		req.Spec.Audiences = []string{p.Audience}
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	out, err := r.n.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("service account token: %w", err)
	}
	return out.Status.Token, nil
}

func (r *podRunner) start(ctx context.Context, binary string, c corev1.Container, env, binds []string) (<-chan error, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"podexec"}
	for _, b := range binds {
		args = append(args, "--bind", b)
	}
	sc := r.pod.Spec.SecurityContext
	uid, gid := int64(0), int64(0)
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		uid = *c.SecurityContext.RunAsUser
	} else if sc != nil && sc.RunAsUser != nil {
		uid = *sc.RunAsUser
	}
	if sc != nil && sc.RunAsGroup != nil {
		gid = *sc.RunAsGroup
	} else if sc != nil && sc.FSGroup != nil {
		gid = *sc.FSGroup
	}
	if r.netns != "" {
		args = append(args, "--netns", r.netns)
	}
	args = append(args, "--uid", strconv.FormatInt(uid, 10), "--gid", strconv.FormatInt(gid, 10), "--", binary)
	args = append(append(args, c.Command...), c.Args...)
	if err := os.MkdirAll(r.n.logDir, 0o755); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(filepath.Join(r.n.logDir, fmt.Sprintf("%s_%s_%s.log", r.pod.Namespace, r.pod.Name, c.Name)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		log.Close()
		return nil, fmt.Errorf("stopping")
	}
	err = cmd.Start()
	if err == nil {
		r.cmd = cmd
	}
	r.mu.Unlock()
	if err != nil {
		log.Close()
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); log.Close() }()
	r.started, r.ready = metav1.Now(), false
	r.report(ctx, r.running)
	return exited, nil
}

// watch probes the running container until its process exits or the pod stops, keeping the
// pod's Ready condition to what the readiness probe says, and restarting on failed liveness.
func (r *podRunner) watch(ctx context.Context, c corev1.Container, exited <-chan error) {
	started := time.Now()
	failures := 0
	refresh := time.NewTicker(10 * time.Second)
	defer refresh.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	next := map[string]time.Time{}
	for {
		select {
		case <-exited:
			r.ready = false
			return
		case <-ctx.Done():
			return
		case <-refresh.C:
			// Secrets and config maps change under running pods (MetalLB writes its webhook
			// certificate after start and waits to see it in its volume).
			for _, v := range r.pod.Spec.Volumes {
				_ = r.writeVolume(ctx, v, filepath.Join(r.dir, "volumes", v.Name))
			}
		case now := <-tick.C:
			if p := c.ReadinessProbe; p != nil && due(p, started, now, next, "readiness") {
				ok := r.probe(p)
				if ok != r.ready {
					r.ready = ok
					r.report(ctx, r.running)
				}
			} else if c.ReadinessProbe == nil && !r.ready {
				r.ready = true
				r.report(ctx, r.running)
			}
			if p := c.LivenessProbe; p != nil && due(p, started, now, next, "liveness") {
				if r.probe(p) {
					failures = 0
				} else if failures++; failures >= int(max(p.FailureThreshold, 1)) {
					fmt.Fprintf(os.Stderr, "node: pod %s/%s failed its liveness probe %d times; restarting it\n", r.pod.Namespace, r.pod.Name, failures)
					r.kill(syscall.SIGKILL)
					failures = 0
				}
			}
		}
	}
}

func due(p *corev1.Probe, started, now time.Time, next map[string]time.Time, kind string) bool {
	if now.Sub(started) < time.Duration(p.InitialDelaySeconds)*time.Second || now.Before(next[kind]) {
		return false
	}
	next[kind] = now.Add(time.Duration(max(p.PeriodSeconds, 1)) * time.Second)
	return true
}

func (r *podRunner) probe(p *corev1.Probe) bool {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	switch {
	case p.HTTPGet != nil:
		host := p.HTTPGet.Host
		if host == "" {
			host = r.ip
		}
		scheme := strings.ToLower(string(p.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, p.HTTPGet.Port.String()), p.HTTPGet.Path)
		resp, err := (&http.Client{Timeout: timeout}).Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode >= 200 && resp.StatusCode < 400
	case p.TCPSocket != nil:
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(r.ip, p.TCPSocket.Port.String()), timeout)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}
	return true
}

func (r *podRunner) running(s *corev1.PodStatus) {
	c := r.pod.Spec.Containers[0]
	s.Phase = corev1.PodRunning
	s.Reason, s.Message = "", ""
	ready := corev1.ConditionFalse
	if r.ready {
		ready = corev1.ConditionTrue
	}
	r.conditions(s, corev1.ConditionTrue, ready)
	s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: r.ready, Started: ptr.To(true), RestartCount: r.restarts,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: r.started}}}}
}

func (r *podRunner) pending(s *corev1.PodStatus, reason, message string) {
	c := r.pod.Spec.Containers[0]
	if s.Phase != corev1.PodRunning {
		s.Phase = corev1.PodPending
	}
	r.conditions(s, corev1.ConditionFalse, corev1.ConditionFalse)
	s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, Ready: false, Started: ptr.To(false), RestartCount: r.restarts,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
}

func (r *podRunner) conditions(s *corev1.PodStatus, initialized, ready corev1.ConditionStatus) {
	now := metav1.Now()
	set := func(t corev1.PodConditionType, st corev1.ConditionStatus) corev1.PodCondition {
		for _, old := range s.Conditions {
			if old.Type == t && old.Status == st {
				return old
			}
		}
		return corev1.PodCondition{Type: t, Status: st, LastTransitionTime: now}
	}
	s.Conditions = []corev1.PodCondition{set(corev1.PodScheduled, corev1.ConditionTrue), set(corev1.PodInitialized, initialized), set(corev1.ContainersReady, ready), set(corev1.PodReady, ready)}
	s.HostIP, s.HostIPs = r.n.ip, []corev1.HostIP{{IP: r.n.ip}}
	if r.ip != "" {
		s.PodIP, s.PodIPs = r.ip, []corev1.PodIP{{IP: r.ip}}
	}
	if s.StartTime == nil {
		s.StartTime = &now
	}
}

// report writes the pod's status, retrying on conflicts with other writers.
func (r *podRunner) report(ctx context.Context, set func(*corev1.PodStatus)) {
	pods := r.n.client.CoreV1().Pods(r.pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, r.pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != r.pod.UID || cur.DeletionTimestamp != nil {
			return nil
		}
		set(&cur.Status)
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

func (r *podRunner) kill(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil && r.cmd.Process != nil {
		_ = syscall.Kill(-r.cmd.Process.Pid, sig)
	}
}

// stop ends the pod's process: SIGTERM, then SIGKILL after the pod's grace period.
func (r *podRunner) stop() {
	r.mu.Lock()
	if !r.stopping {
		r.stopping = true
		close(r.stopped)
	}
	r.mu.Unlock()
	r.kill(syscall.SIGTERM)
	grace := time.Duration(ptr.Deref(r.pod.Spec.TerminationGracePeriodSeconds, 30)) * time.Second
	select {
	case <-r.done:
	case <-time.After(grace):
		r.kill(syscall.SIGKILL)
		<-r.done
	}
}
