package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runPKI writes the cluster's certificates into a directory, keeping what is there (a server
// restarted keeps its CA, so kubeconfigs stay valid): ca.{crt,key}, serving.{crt,key} for the
// API server (its SANs as given), sa.{key,pub} for service account tokens.
func runPKI(args []string) int {
	fs := flag.NewFlagSet("pki", flag.ExitOnError)
	dir := fs.String("dir", "", "directory")
	ips := fs.String("ip", "127.0.0.1", "comma-separated IP SANs of the serving certificate")
	names := fs.String("dns", "localhost", "comma-separated DNS SANs of the serving certificate")
	_ = fs.Parse(args)
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "pki: --dir is required")
		return 2
	}
	if err := writePKI(*dir, split(*ips), split(*names)); err != nil {
		fmt.Fprintln(os.Stderr, "pki:", err)
		return 1
	}
	return 0
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func writePKI(dir string, ips, names []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := func(f string) string { return filepath.Join(dir, f) }
	if !exists(path("sa.key")) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return err
		}
		if err := writePEM(path("sa.pub"), "PUBLIC KEY", pub); err != nil {
			return err
		}
		if err := writePEM(path("sa.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)); err != nil {
			return err
		}
	}
	if !exists(path("ca.key")) {
		key, der, err := newCert(pkix.Name{CommonName: "play-lab-server-ca"}, nil, nil, nil, nil)
		if err != nil {
			return err
		}
		if err := writeKeyPair(path("ca"), key, der); err != nil {
			return err
		}
	}
	caKey, caCert, err := readKeyPair(path("ca"))
	if err != nil {
		return err
	}
	var addrs []net.IP
	for _, ip := range ips {
		parsed := net.ParseIP(ip)
		if parsed == nil {
			return fmt.Errorf("not an IP address: %q", ip)
		}
		addrs = append(addrs, parsed)
	}
	key, der, err := newCert(pkix.Name{CommonName: "kube-apiserver"}, addrs, names, caCert, caKey)
	if err != nil {
		return err
	}
	if err := writeKeyPair(path("serving"), key, der); err != nil {
		return err
	}
	// What the API server shows the nodes' agents when it proxies `kubectl logs` to them.
	key, der, err = newClientCert(pkix.Name{CommonName: kubeletClientName, Organization: []string{"system:masters"}}, caCert, caKey)
	if err != nil {
		return err
	}
	return writeKeyPair(path("kubelet-client"), key, der)
}

// kubeletClientName is the API server's name towards the kubelets (the node agents).
const kubeletClientName = "kube-apiserver-kubelet-client"

// newClientCert makes a key and a client certificate signed by the CA.
func newClientCert(subject pkix.Name, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte, error) {
	return signedCert(subject, nil, nil, parent, parentKey, x509.ExtKeyUsageClientAuth)
}

// newCert makes a key and a certificate: a CA when parent is nil, else a serving certificate.
func newCert(subject pkix.Name, ips []net.IP, names []string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte, error) {
	return signedCert(subject, ips, names, parent, parentKey, x509.ExtKeyUsageServerAuth)
}

func signedCert(subject pkix.Name, ips []net.IP, names []string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0), IPAddresses: ips, DNSNames: names}
	signer := key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
		parent = tmpl
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		signer = parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	return key, der, err
}

func writeKeyPair(base string, key *ecdsa.PrivateKey, der []byte) error {
	k, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(base+".key", "EC PRIVATE KEY", k); err != nil {
		return err
	}
	return writePEM(base+".crt", "CERTIFICATE", der)
}

func readKeyPair(base string) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	kb, err := readPEM(base + ".key")
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb)
	if err != nil {
		return nil, nil, err
	}
	cb, err := readPEM(base + ".crt")
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(cb)
	return key, cert, err
}

func writePEM(path, kind string, der []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readPEM(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return block.Bytes, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
