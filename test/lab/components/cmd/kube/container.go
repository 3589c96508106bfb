package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const (
	sigterm = syscall.SIGTERM
	sigkill = syscall.SIGKILL
)

// containerRunner is one container of a pod: a process of the host in a mount namespace of its
// own, rooted in its image's file system.
type containerRunner struct {
	p    *podRunner
	spec corev1.Container
	img  *labImage
	init bool
	// Guarded by p.mu.
	cmd      *exec.Cmd
	env      []string
	restarts int32
	state    corev1.ContainerState
	ready    bool
	started  bool // the startup probe has passed (or there is none)
}

// runToCompletion runs an init container until it exits 0, retrying with back-off as the
// kubelet does under restartPolicy Always. False when the pod stops first.
func (c *containerRunner) runToCompletion(ctx context.Context) bool {
	backoff := 2 * time.Second
	for !c.p.isStopping() && ctx.Err() == nil {
		exited, err := c.start(ctx)
		if err == nil {
			err = <-exited
			if err == nil {
				c.set(ctx, func() { c.state = terminated(0, "Completed", c.state) })
				return true
			}
		}
		c.set(ctx, func() {
			c.restarts++
			c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: fmt.Sprintf("init container %s: %v; retrying in %s", c.spec.Name, err, backoff)}}
		})
		c.p.sleep(ctx, backoff)
		backoff = min(backoff*2, 40*time.Second)
	}
	return false
}

// keepRunning runs a container until the pod stops, restarting it whenever it exits.
func (c *containerRunner) keepRunning(ctx context.Context) {
	backoff := 2 * time.Second
	for !c.p.isStopping() && ctx.Err() == nil {
		exited, err := c.start(ctx)
		if err != nil {
			c.set(ctx, func() {
				c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}}
			})
			c.p.sleep(ctx, backoff)
			continue
		}
		c.watch(ctx, exited)
		if c.p.isStopping() || ctx.Err() != nil {
			return
		}
		c.set(ctx, func() {
			c.restarts++
			c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: fmt.Sprintf("the process exited; restarting in %s", backoff)}}
		})
		c.p.sleep(ctx, backoff)
		backoff = min(backoff*2, 40*time.Second)
	}
}

// set changes the container's state under the pod's lock and reports the pod's status.
func (c *containerRunner) set(ctx context.Context, change func()) {
	c.p.mu.Lock()
	change()
	c.p.mu.Unlock()
	c.p.report(ctx)
}

func terminated(code int32, reason string, prev corev1.ContainerState) corev1.ContainerState {
	t := &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, FinishedAt: metav1.Now()}
	if prev.Running != nil {
		t.StartedAt = prev.Running.StartedAt
	}
	return corev1.ContainerState{Terminated: t}
}

// start prepares the container's volumes and starts its process: `kube podexec`, which builds
// the container's root and becomes its command.
func (c *containerRunner) start(ctx context.Context) (<-chan error, error) {
	r := c.p
	env, binds, err := r.prepare(ctx, c.spec)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	scratch := filepath.Join(r.dir, "containers", c.spec.Name)
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return nil, err
	}
	args := []string{"podexec", "--root", strings.Join(c.img.layers, ":"), "--scratch", scratch, "--cgroup", c.cgroup()}
	for _, b := range binds {
		args = append(args, "--bind", b)
	}
	uid, gid := c.identity()
	unshare := uintptr(syscall.CLONE_NEWNS)
	if r.netns != "" {
		// A pod of its own network has a host name of its own too, as with a container runtime.
		args = append(args, "--netns", r.netns, "--hostname", r.hostname())
		unshare |= syscall.CLONE_NEWUTS
	}
	args = append(args, "--uid", strconv.FormatInt(uid, 10), "--gid", strconv.FormatInt(gid, 10), "--")
	command := c.spec.Command
	if len(command) == 0 {
		command = c.img.entrypoint
	}
	if len(command)+len(c.spec.Args) == 0 {
		return nil, fmt.Errorf("no command: the image has no entrypoint and the container names none")
	}
	args = append(append(args, command...), c.spec.Args...)
	if err := os.MkdirAll(r.n.logDir, 0o755); err != nil {
		return nil, err
	}
	log, err := openContainerLog(r.n.logPath(r.pod.Namespace, r.pod.Name, c.spec.Name))
	if err != nil {
		return nil, err
	}
	stdout, err := log.stream("stdout")
	if err != nil {
		log.file.Close()
		return nil, err
	}
	stderr, err := log.stream("stderr")
	if err != nil {
		stdout.Close()
		log.closeWhenDrained()
		return nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, stdout, stderr
	// The process has its own copies now: the log ends when every holder closed them.
	defer stdout.Close()
	defer stderr.Close()
	defer log.closeWhenDrained()
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unshare, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		return nil, fmt.Errorf("stopping")
	}
	err = cmd.Start()
	if err == nil {
		c.cmd, c.env = cmd, env
		c.ready, c.started = false, c.spec.StartupProbe == nil
		c.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
	}
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		code := int32(0)
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = int32(exit.ExitCode())
		}
		r.mu.Lock()
		reason := "Completed"
		if code != 0 || err != nil {
			reason = "Error"
		}
		c.state, c.ready = terminated(code, reason, c.state), false
		r.mu.Unlock()
		// The container ends with its first process, as in a pid namespace: what it left running
		// (daemons) goes with it.
		cgroupRemove(c.cgroup())
		exited <- err
	}()
	r.report(ctx)
	return exited, nil
}

// identity is the user and group the container runs as: its own security context's, else the
// pod's.
func (c *containerRunner) identity() (int64, int64) {
	var uid, gid *int64
	if sc := c.spec.SecurityContext; sc != nil {
		uid, gid = sc.RunAsUser, sc.RunAsGroup
	}
	if sc := c.p.pod.Spec.SecurityContext; sc != nil {
		if uid == nil {
			uid = sc.RunAsUser
		}
		if gid == nil {
			gid = sc.RunAsGroup
		}
		if gid == nil {
			gid = sc.FSGroup
		}
	}
	return deref(uid, 0), deref(gid, 0)
}

// watch probes the running container until its process exits or the pod stops, as the kubelet
// does: the startup probe first, then readiness (Ready after a success, not Ready after
// failureThreshold failures) and liveness (restart after failureThreshold failures).
func (c *containerRunner) watch(ctx context.Context, exited <-chan error) {
	r := c.p
	started := time.Now()
	failures := map[string]int32{}
	refresh := time.NewTicker(10 * time.Second)
	defer refresh.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	next := map[string]time.Time{}
	for {
		select {
		case <-exited:
			r.report(ctx)
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
			r.mu.Lock()
			isStarted, isReady := c.started, c.ready
			r.mu.Unlock()
			if !isStarted {
				p := c.spec.StartupProbe
				if !due(p, started, now, next, "startup") {
					continue
				}
				if c.probe(p) {
					c.set(ctx, func() { c.started = true })
				} else if failures["startup"]++; failures["startup"] >= max(p.FailureThreshold, 1) {
					fmt.Fprintf(os.Stderr, "node: pod %s/%s container %s failed its startup probe; restarting it\n", r.pod.Namespace, r.pod.Name, c.spec.Name)
					c.kill(sigkill)
				}
				continue
			}
			if p := c.spec.ReadinessProbe; p == nil && !isReady {
				c.set(ctx, func() { c.ready = true })
			} else if p != nil && due(p, started, now, next, "readiness") {
				if c.probe(p) {
					failures["readiness"] = 0
					if !isReady {
						c.set(ctx, func() { c.ready = true })
					}
				} else if failures["readiness"]++; isReady && failures["readiness"] >= max(p.FailureThreshold, 1) {
					c.set(ctx, func() { c.ready = false })
				}
			}
			if p := c.spec.LivenessProbe; p != nil && due(p, started, now, next, "liveness") {
				if c.probe(p) {
					failures["liveness"] = 0
				} else if failures["liveness"]++; failures["liveness"] >= max(p.FailureThreshold, 1) {
					fmt.Fprintf(os.Stderr, "node: pod %s/%s container %s failed its liveness probe %d times; restarting it\n", r.pod.Namespace, r.pod.Name, c.spec.Name, failures["liveness"])
					c.kill(sigkill)
					failures["liveness"] = 0
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

// probeClient skips certificate checks, as the kubelet's HTTPS probes do.
var probeClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// probe runs one probe as the kubelet does: an HTTP status from 200 to 399, a TCP connection, or
// a command that exits 0 in the container, each within timeoutSeconds.
func (c *containerRunner) probe(p *corev1.Probe) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(p.TimeoutSeconds, 1))*time.Second)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		return c.httpGet(ctx, p.HTTPGet) == nil
	case p.TCPSocket != nil:
		return c.dial(ctx, p.TCPSocket.Port.String()) == nil
	case p.Exec != nil:
		return c.inContainer(ctx, p.Exec.Command) == nil
	}
	return true
}

func (c *containerRunner) httpGet(ctx context.Context, g *corev1.HTTPGetAction) error {
	host := g.Host
	if host == "" {
		host = c.p.ip
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, c.port(g.Port.String())), g.Path), nil)
	if err != nil {
		return err
	}
	for _, h := range g.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

func (c *containerRunner) dial(ctx context.Context, port string) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(c.p.ip, c.port(port)))
	if err != nil {
		return err
	}
	return conn.Close()
}

// inContainer runs a command in the running container, as a container runtime's exec does (exec
// probes, preStop hooks): in its mount, UTS and network namespaces, under its root, as its user,
// with its environment.
func (c *containerRunner) inContainer(ctx context.Context, command []string) error {
	c.p.mu.Lock()
	pid, env := 0, c.env
	if c.cmd != nil && c.cmd.Process != nil && c.state.Running != nil {
		pid = c.cmd.Process.Pid
	}
	c.p.mu.Unlock()
	if pid == 0 {
		return fmt.Errorf("container %s is not running", c.spec.Name)
	}
	if len(command) == 0 {
		return fmt.Errorf("no command")
	}
	uid, gid := c.identity()
	args := []string{"--target", strconv.Itoa(pid), "--mount", "--uts", "--net", "--root", "--wd",
		"--setuid", strconv.FormatInt(uid, 10), "--setgid", strconv.FormatInt(gid, 10), "--"}
	cmd := exec.CommandContext(ctx, "nsenter", append(args, command...)...)
	cmd.Env = env
	return cmd.Run()
}

// preStop runs the container's preStop hook, as the kubelet does before it sends SIGTERM.
func (c *containerRunner) preStop(ctx context.Context) {
	h := c.spec.Lifecycle
	if h == nil || h.PreStop == nil {
		return
	}
	var err error
	switch p := h.PreStop; {
	case p.Exec != nil:
		err = c.inContainer(ctx, p.Exec.Command)
	case p.HTTPGet != nil:
		err = c.httpGet(ctx, p.HTTPGet)
	case p.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(p.Sleep.Seconds) * time.Second):
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "node: pod %s/%s container %s preStop hook: %v\n", c.p.pod.Namespace, c.p.pod.Name, c.spec.Name, err)
	}
}

// port resolves a probe's port, which may name one of the container's ports.
func (c *containerRunner) port(p string) string {
	for _, cp := range c.spec.Ports {
		if cp.Name == p {
			return strconv.Itoa(int(cp.ContainerPort))
		}
	}
	return p
}

// status is the container's status for the pod's; waiting, when the pod is not yet running its
// containers, says why.
func (c *containerRunner) status(waiting *corev1.ContainerStateWaiting) corev1.ContainerStatus {
	state := c.state
	if state.Running == nil && state.Terminated == nil && state.Waiting == nil {
		w := corev1.ContainerStateWaiting{Reason: "PodInitializing"}
		if waiting != nil {
			w = *waiting
		}
		state = corev1.ContainerState{Waiting: &w}
	}
	s := corev1.ContainerStatus{Name: c.spec.Name, Image: c.spec.Image, Ready: c.ready, Started: ptr.To(state.Running != nil && c.started), RestartCount: c.restarts, State: state}
	if c.img != nil {
		s.ImageID = c.img.id
	}
	if c.init {
		s.Ready = state.Terminated != nil && state.Terminated.ExitCode == 0
	}
	return s
}

// kill signals every process of the container.
func (c *containerRunner) kill(sig syscall.Signal) {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.cmd != nil && c.state.Running != nil {
		cgroupSignal(c.cgroup(), sig)
	}
}

func (c *containerRunner) cgroup() string {
	return filepath.Join(c.p.n.cgroups, string(c.p.pod.UID), c.spec.Name)
}
