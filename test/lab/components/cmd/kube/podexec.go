package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// runPodExec runs a pod's container as a process of the host: started by the node agent in a
// mount namespace of its own, it binds the pod's volumes at their mount paths (so the binary
// finds its secrets and service account token where it would in a container), takes the pod's
// user and group, and becomes the container's command.
//
//	kube podexec [--bind SRC:DST[:ro]]... [--netns PATH] [--uid N] [--gid N] -- BINARY ARGS...
func runPodExec(args []string) int {
	fs := flag.NewFlagSet("podexec", flag.ExitOnError)
	var binds multi
	fs.Var(&binds, "bind", "SRC:DST[:ro], repeatable")
	uid := fs.Int("uid", 0, "user id")
	gid := fs.Int("gid", 0, "group id")
	netns := fs.String("netns", "", "network namespace to join (a pod not on the host network)")
	_ = fs.Parse(args)
	// Namespaces are per thread: this one joins them and then becomes the container's command.
	runtime.LockOSThread()
	if *netns != "" {
		fd, err := unix.Open(*netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "podexec: join network namespace %s: %v\n", *netns, err)
			return 1
		}
	}
	command := fs.Args()
	if len(command) == 0 {
		fmt.Fprintln(os.Stderr, "podexec: no command")
		return 2
	}
	// Mounts made here must not leak back into the host's namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "podexec: make / private (start me in a mount namespace of my own):", err)
		return 1
	}
	// Outer mount points first, and read-only only once all are bound, as container runtimes do:
	// a volume mounted inside another (/etc/metallb/memberlist in /etc/metallb) gets its mount
	// point made in the outer volume's directory.
	sort.SliceStable(binds, func(i, j int) bool { return depth(binds[i]) < depth(binds[j]) })
	var readOnly []string
	for _, b := range binds {
		dst, err := bind(b)
		if err != nil {
			fmt.Fprintf(os.Stderr, "podexec: bind %s: %v\n", b, err)
			return 1
		}
		if strings.HasSuffix(b, ":ro") {
			readOnly = append(readOnly, dst)
		}
	}
	for _, dst := range readOnly {
		if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			fmt.Fprintf(os.Stderr, "podexec: read-only %s: %v\n", dst, err)
			return 1
		}
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "podexec:", err)
		return 127
	}
	if *gid != 0 || *uid != 0 {
		if err := syscall.Setgroups([]int{*gid}); err != nil {
			fmt.Fprintln(os.Stderr, "podexec: setgroups:", err)
			return 1
		}
		if err := syscall.Setgid(*gid); err != nil {
			fmt.Fprintln(os.Stderr, "podexec: setgid:", err)
			return 1
		}
		if err := syscall.Setuid(*uid); err != nil {
			fmt.Fprintln(os.Stderr, "podexec: setuid:", err)
			return 1
		}
	}
	err = syscall.Exec(path, command, os.Environ())
	fmt.Fprintln(os.Stderr, "podexec: exec:", err)
	return 126
}

func depth(spec string) int {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 {
		return 0
	}
	return strings.Count(filepath.Clean(parts[1]), "/")
}

func bind(spec string) (string, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 {
		return "", fmt.Errorf("want SRC:DST[:ro]")
	}
	src, dst := parts[0], parts[1]
	st, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	// The mount point is made on the host's disk if missing, as a container runtime makes it in
	// the container's root; it stays empty there.
	if st.IsDir() {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return "", err
		}
	} else if _, err := os.Stat(dst); os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, nil, 0o644); err != nil {
			return "", err
		}
	}
	return dst, syscall.Mount(src, dst, "", syscall.MS_BIND|syscall.MS_REC, "")
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
