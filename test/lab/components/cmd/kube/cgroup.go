package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A container is all its processes, not only the one the agent started: FRR's daemons
// daemonize out of their process group. Each container gets a cgroup (v2) below the agent's own
// (K3s's unit delegates its cgroup), by which it is signalled and killed as a whole, as a
// container runtime does.

// podsCgroup is the cgroup below which containers' cgroups are made: "pods" under the agent's.
func podsCgroup() (string, error) {
	mount := ""
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 2 && fields[2] == "cgroup2" {
			mount = fields[1]
			break
		}
	}
	if mount == "" {
		return "", fmt.Errorf("no cgroup2 file system mounted")
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(own), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(mount, path, "pods"), nil
		}
	}
	return "", fmt.Errorf("this process is in no cgroup v2")
}

// cgroupSignal sends sig to every process of the cgroup and those below it.
func cgroupSignal(dir string, sig syscall.Signal) {
	if sig == syscall.SIGKILL {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644); err == nil {
			return
		}
	}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		procs, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		for _, p := range strings.Fields(string(procs)) {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, sig)
			}
		}
		return nil
	})
}

// cgroupRemove kills what is left in the cgroup and removes it (and those below it).
func cgroupRemove(dir string) {
	if _, err := os.Stat(dir); err != nil {
		return
	}
	cgroupSignal(dir, syscall.SIGKILL)
	var dirs []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		// A killed process leaves its cgroup a moment after the kill.
		for try := 0; try < 50; try++ {
			if err := syscall.Rmdir(dirs[i]); err == nil || os.IsNotExist(err) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
