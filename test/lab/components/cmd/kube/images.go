package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// labImage is what the node agent has in place of a container image: a root filesystem on the
// host's disk (read-only; each container gets a fresh writable layer over it) and the image's
// entrypoint.
type labImage struct {
	root       string
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
)

// image finds the root filesystem standing in for an image reference, or says why there is none.
func (n *node) image(ref string) (*labImage, string) {
	if m := metallbImage.FindStringSubmatch(ref); m != nil {
		root := filepath.Join(n.binDir, "images", "metallb-"+m[2], m[1])
		if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
			return nil, fmt.Sprintf("image %s: no binary built for MetalLB %s in %s", ref, m[2], root)
		}
		return &labImage{root: root, entrypoint: []string{"/" + m[1]}, id: "play-lab/metallb-" + m[2] + "/" + m[1]}, ""
	}
	if frrImage.MatchString(ref) {
		if _, err := os.Stat(filepath.Join(n.frrRoot, "usr/lib/frr/bgpd")); err != nil {
			return nil, fmt.Sprintf("image %s: no FRR root filesystem at %s", ref, n.frrRoot)
		}
		id := "play-lab/debian-frr"
		if v, err := os.ReadFile(filepath.Join(n.frrRoot, "etc/play-lab-image")); err == nil {
			id = "play-lab/" + string(trimNL(v))
		}
		return &labImage{root: n.frrRoot, id: id}, ""
	}
	return nil, fmt.Sprintf("image %s: the play lab's node agent runs only MetalLB's controller and speaker and FRR (as host processes); this pod stays Pending", ref)
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
