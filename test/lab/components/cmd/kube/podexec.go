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

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// runPodExec runs a pod's container as a process of the host, started by the node agent in a
// mount namespace of its own. As a container runtime does, it joins the container's cgroup,
// builds the container's root (the image's file system under a fresh writable layer, with
// /proc, /sys and /dev), binds the pod's volumes at their mount paths, takes the container's
// user and group, and becomes its command.
//
//	kube podexec --root DIR --scratch DIR [--cgroup DIR] [--bind SRC:DST[:ro]]... [--netns PATH]
//	             [--hostname NAME] [--uid N] [--gid N] -- COMMAND ARGS...
func runPodExec(args []string) int {
	fs := flag.NewFlagSet("podexec", flag.ExitOnError)
	var binds multi
	fs.Var(&binds, "bind", "SRC:DST[:ro], repeatable")
	root := fs.String("root", "", "the image's root file system (read-only)")
	scratch := fs.String("scratch", "", "an empty directory for the container's writable layer")
	cgroup := fs.String("cgroup", "", "cgroup (v2) to join, by which the agent stops all the container's processes")
	uid := fs.Int("uid", 0, "user id")
	gid := fs.Int("gid", 0, "group id")
	netns := fs.String("netns", "", "network namespace to join (a pod not on the host network)")
	hostname := fs.String("hostname", "", "host name to set (started in a UTS namespace of its own)")
	_ = fs.Parse(args)
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "podexec: %s: %v\n", what, err)
		return 1
	}
	command := fs.Args()
	if len(command) == 0 || *root == "" || *scratch == "" {
		fmt.Fprintln(os.Stderr, "podexec: want --root, --scratch and a command")
		return 2
	}
	if *cgroup != "" {
		if err := os.MkdirAll(*cgroup, 0o755); err != nil {
			return fail("cgroup", err)
		}
		if err := os.WriteFile(filepath.Join(*cgroup, "cgroup.procs"), []byte("0"), 0o644); err != nil {
			return fail("join cgroup "+*cgroup, err)
		}
	}
	// Namespaces are per thread: this one joins them and then becomes the container's command.
	runtime.LockOSThread()
	if *netns != "" {
		fd, err := unix.Open(*netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
		}
		if err != nil {
			return fail("join network namespace "+*netns, err)
		}
	}
	if *hostname != "" {
		if err := unix.Sethostname([]byte(*hostname)); err != nil {
			return fail("set host name "+*hostname, err)
		}
	}
	// Mounts made here must not leak back into the host's namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fail("make / private (start me in a mount namespace of my own)", err)
	}
	newRoot, err := containerRoot(*root, *scratch)
	if err != nil {
		return fail("container root", err)
	}
	// Outer mount points first, and read-only only once all are bound, as container runtimes do:
	// a volume mounted inside another (/etc/metallb/memberlist in /etc/metallb) gets its mount
	// point made in the outer volume's directory.
	sort.SliceStable(binds, func(i, j int) bool { return depth(binds[i]) < depth(binds[j]) })
	var readOnly []string
	for _, b := range binds {
		dst, err := bind(newRoot, b)
		if err != nil {
			return fail("bind "+b, err)
		}
		if strings.HasSuffix(b, ":ro") {
			readOnly = append(readOnly, dst)
		}
	}
	for _, dst := range readOnly {
		if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			return fail("read-only "+dst, err)
		}
	}
	if err := syscall.Chroot(newRoot); err != nil {
		return fail("chroot", err)
	}
	if err := os.Chdir("/"); err != nil {
		return fail("chdir", err)
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "podexec:", err)
		return 127
	}
	if *gid != 0 || *uid != 0 {
		if err := syscall.Setgroups([]int{*gid}); err != nil {
			return fail("setgroups", err)
		}
		if err := syscall.Setgid(*gid); err != nil {
			return fail("setgid", err)
		}
		if err := syscall.Setuid(*uid); err != nil {
			return fail("setuid", err)
		}
	}
	err = syscall.Exec(path, command, os.Environ())
	fmt.Fprintln(os.Stderr, "podexec: exec:", err)
	return 126
}

// containerRoot mounts the image's root read-only under a writable layer on a fresh tmpfs
// (what the container writes is gone when it restarts, as with a new container) and binds the
// kernel's file systems into it.
func containerRoot(image, scratch string) (string, error) {
	if err := syscall.Mount("tmpfs", scratch, "tmpfs", 0, "mode=0700"); err != nil {
		return "", err
	}
	for _, d := range []string{"upper", "work", "root"} {
		if err := os.Mkdir(filepath.Join(scratch, d), 0o755); err != nil {
			return "", err
		}
	}
	newRoot := filepath.Join(scratch, "root")
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", image, filepath.Join(scratch, "upper"), filepath.Join(scratch, "work"))
	if err := syscall.Mount("overlay", newRoot, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("overlay on %s: %w", image, err)
	}
	for _, fs := range []string{"/proc", "/sys", "/dev"} {
		if _, err := bind(newRoot, fs+":"+fs); err != nil {
			return "", fmt.Errorf("%s: %w", fs, err)
		}
	}
	return newRoot, nil
}

func depth(spec string) int {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 {
		return 0
	}
	return strings.Count(filepath.Clean(parts[1]), "/")
}

// bind binds SRC at DST inside the container's root, making the mount point there (in the
// container's writable layer or in an outer volume) when missing. DST is resolved inside the
// root: the image's own symlinks (/var/run -> /run) must not lead out to the host.
func bind(root, spec string) (string, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 {
		return "", fmt.Errorf("want SRC:DST[:ro]")
	}
	src := parts[0]
	dst, err := securejoin.SecureJoin(root, parts[1])
	if err != nil {
		return "", err
	}
	st, err := os.Stat(src)
	if err != nil {
		return "", err
	}
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
