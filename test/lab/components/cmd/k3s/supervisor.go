package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// supervisor runs K3s's parts as child processes: any of them ending ends K3s (systemd restarts
// it), and SIGTERM stops them in reverse order, as the K3s process takes its parts down with it.
type supervisor struct {
	mu       sync.Mutex
	children []*child
	exited   chan string
	signals  chan os.Signal
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func newSupervisor() *supervisor {
	s := &supervisor{exited: make(chan string, 16), signals: make(chan os.Signal, 2)}
	signal.Notify(s.signals, syscall.SIGTERM, syscall.SIGINT)
	return s
}

func (s *supervisor) start(name, bin string, args ...string) {
	s.startWith(name, nil, bin, args...)
}

// startWith starts a child with these variables added to K3s's own environment.
func (s *supervisor) startWith(name string, env []string, bin string, args ...string) {
	cmd := exec.Command(bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = prefixed(name), prefixed(name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.stopAll()
		fatal("start %s: %v", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		close(c.done)
		s.exited <- fmt.Sprintf("%s exited: %v", name, err)
	}()
	s.mu.Lock()
	s.children = append(s.children, c)
	s.mu.Unlock()
}

// waitHTTP waits until url answers 200, or a child ends, or a stop signal comes.
func (s *supervisor) waitHTTP(name, url string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		if resp, err := insecure.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case why := <-s.exited:
			s.stopAll()
			fatal("%s", why)
		case sig := <-s.signals:
			info("Received %s while starting; shutting down", sig)
			s.stopAll()
			os.Exit(0)
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stopAll()
			fatal("%s did not become ready at %s within %s", name, url, timeout)
		}
	}
}

// run calls tick every 2 s until a stop signal (exit 0) or a child's end (exit 1).
func (s *supervisor) run(tick func()) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if tick != nil {
			tick()
		}
		select {
		case why := <-s.exited:
			s.stopAll()
			fatal("%s", why)
		case <-s.signals:
			info("Shutting down")
			s.stopAll()
			os.Exit(0)
		case <-t.C:
		}
	}
}

func (s *supervisor) stopAll() {
	s.mu.Lock()
	children := append([]*child(nil), s.children...)
	s.children = nil
	s.mu.Unlock()
	for i := len(children) - 1; i >= 0; i-- {
		c := children[i]
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
	}
}

// prefixed writes a child's output lines to stderr (the journal) under its name.
func prefixed(name string) *prefixWriter { return &prefixWriter{name: name} }

type prefixWriter struct {
	name string
	mu   sync.Mutex
	part []byte
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.part = append(w.part, b...)
	for {
		i := indexByte(w.part, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(os.Stderr, "%s: %s\n", w.name, w.part[:i])
		w.part = w.part[i+1:]
	}
	return len(b), nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
