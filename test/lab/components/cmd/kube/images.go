package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// labImage is what the node agent has in place of a container image: a root filesystem on the
// host's disk (read-only; each container gets a fresh writable layer over it) and the image's
// entrypoint.
type labImage struct {
	// layers are the image's file systems, uppermost first (an overlay's lowerdir order).
	layers     []string
	entrypoint []string
	// id says what stands in for the image, reported as the container's imageID.
	id string
}

var (
	// MetalLB's images hold its binaries alone (as its distroless images do): built from MetalLB's
	// source at the image's version.
	metallbImage = regexp.MustCompile(`^quay\.io/metallb/(controller|speaker):(v\d+\.\d+\.\d+)$`)
	// FRR's image, which MetalLB's FRR mode runs beside the speaker: Debian's FRR stands in for it.
	frrImage = regexp.MustCompile(`^quay\.io/frrouting/frr:\S+$`)
	// The Kubernetes end-to-end tests' workload image, under its own name and tag.
	agnhostImage = regexp.MustCompile(`^registry\.k8s\.io/e2e-test-images/agnhost:(\d+\.\d+)$`)
)

// image finds the root filesystem standing in for an image reference, or says why there is none.
func (n *node) image(ref string) (*labImage, string) {
	if m := metallbImage.FindStringSubmatch(ref); m != nil {
		root := filepath.Join(n.binDir, "images", "metallb-"+m[2], m[1])
		if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
			return nil, fmt.Sprintf("image %s: no binary built for MetalLB %s in %s", ref, m[2], root)
		}
		return &labImage{layers: []string{root}, entrypoint: []string{"/" + m[1]}, id: "play-lab/metallb-" + m[2] + "/" + m[1]}, ""
	}
	if frrImage.MatchString(ref) {
		id, why := n.debianRoot(ref)
		if why != "" {
			return nil, why
		}
		return &labImage{layers: []string{n.frrRoot}, id: id}, ""
	}
	if m := agnhostImage.FindStringSubmatch(ref); m != nil {
		// agnhost's image is Alpine with a shell, curl and netcat beside /agnhost: here the
		// binary built from k8s.io/kubernetes at this tag sits over Debian's userland (the FRR
		// image's root), so exec probes and shell commands find what they expect.
		top := filepath.Join(n.binDir, "images", "agnhost-"+m[1])
		if _, err := os.Stat(filepath.Join(top, "agnhost")); err != nil {
			built, _ := filepath.Glob(filepath.Join(n.binDir, "images", "agnhost-*"))
			return nil, fmt.Sprintf("image %s: the lab builds agnhost at the tag its Kubernetes version has (%s), not %s", ref, strings.Join(tags(built, "agnhost-"), ", "), m[1])
		}
		_, why := n.debianRoot(ref)
		if why != "" {
			return nil, why
		}
		return &labImage{layers: []string{top, n.frrRoot}, entrypoint: []string{"/agnhost"}, id: "play-lab/agnhost-" + m[1]}, ""
	}
	return nil, fmt.Sprintf("image %s: the play lab's node agent runs only MetalLB's controller and speaker, FRR and agnhost (as host processes); this pod stays Pending", ref)
}

// debianRoot checks the Debian root file system standing in for FRR's image (and for the
// userland under agnhost) and says what it is.
func (n *node) debianRoot(ref string) (string, string) {
	if _, err := os.Stat(filepath.Join(n.frrRoot, "usr/lib/frr/bgpd")); err != nil {
		return "", fmt.Sprintf("image %s: no Debian root filesystem at %s", ref, n.frrRoot)
	}
	id := "play-lab/debian-frr"
	if v, err := os.ReadFile(filepath.Join(n.frrRoot, "etc/play-lab-image")); err == nil {
		id = "play-lab/" + string(trimNL(v))
	}
	return id, ""
}

func tags(dirs []string, prefix string) []string {
	var out []string
	for _, d := range dirs {
		out = append(out, strings.TrimPrefix(filepath.Base(d), prefix))
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
