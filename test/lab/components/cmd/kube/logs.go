package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Containers' output is kept as the CRI runtimes keep it (`TIME STREAM F LINE`), so that the
// agent can answer `kubectl logs` as the kubelet does: with --since, --tail, --timestamps.

// containerLog is one container's log file, written by its two streams at once.
type containerLog struct {
	mu   sync.Mutex
	file *os.File
	done sync.WaitGroup
}

func openContainerLog(path string) (*containerLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &containerLog{file: f}, nil
}

// stream returns the write end a process gets as its stdout or stderr. It is a pipe of the
// agent's own, read here line by line: a daemon the container started may hold it after the
// container's first process ended, and the agent's Wait must not wait for it.
func (l *containerLog) stream(name string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		defer r.Close()
		lines := bufio.NewReader(r)
		for {
			line, err := lines.ReadString('\n')
			if line != "" {
				l.mu.Lock()
				fmt.Fprintf(l.file, "%s %s F %s\n", time.Now().UTC().Format(time.RFC3339Nano), name, strings.TrimSuffix(line, "\n"))
				l.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	return w, nil
}

// closeWhenDrained closes the file once both streams have ended (every writer closed them).
func (l *containerLog) closeWhenDrained() {
	go func() {
		l.done.Wait()
		l.file.Close()
	}()
}

func (n *node) logPath(namespace, pod, container string) string {
	return filepath.Join(n.logDir, fmt.Sprintf("%s_%s_%s.log", namespace, pod, container))
}

// serveLogs answers the API server's `pods/log` proxy on the kubelet's port 10250, over TLS,
// to the API server's kubelet client certificate only (signed by the cluster's CA).
func (n *node) serveLogs(ctx context.Context, clusterCA []byte) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(clusterCA) {
		return fmt.Errorf("no CA certificate in the node's kubeconfig")
	}
	cert, err := selfSignedServing(n.ip, n.name)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != kubeletClientName {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		n.containerLogs(w, r)
	})
	server := &http.Server{
		Addr:              net.JoinHostPort(n.ip, "10250"),
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12},
	}
	go func() {
		<-ctx.Done()
		server.Close()
	}()
	err = server.ListenAndServeTLS("", "")
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}

// containerLogs writes a container's log as the kubelet does for `kubectl logs`: sinceSeconds,
// sinceTime, tailLines, limitBytes and timestamps are honoured; follow returns what there is.
func (n *node) containerLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := os.Open(n.logPath(r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")))
	if err != nil {
		http.Error(w, fmt.Sprintf("container %q in pod %q has no log on this node", r.PathValue("container"), r.PathValue("pod")), http.StatusNotFound)
		return
	}
	defer f.Close()
	var since time.Time
	if s, err := strconv.Atoi(q.Get("sinceSeconds")); err == nil {
		since = time.Now().Add(-time.Duration(s) * time.Second)
	} else if t, err := time.Parse(time.RFC3339, q.Get("sinceTime")); err == nil {
		since = t
	}
	timestamps := q.Get("timestamps") == "true"
	var out []string
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		fields := strings.SplitN(scanner.Text(), " ", 4)
		if len(fields) < 4 {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, fields[0])
		if err != nil || at.Before(since) {
			continue
		}
		if timestamps {
			out = append(out, fields[0]+" "+fields[3]+"\n")
		} else {
			out = append(out, fields[3]+"\n")
		}
	}
	if tail, err := strconv.Atoi(q.Get("tailLines")); err == nil && tail >= 0 && tail < len(out) {
		out = out[len(out)-tail:]
	}
	var body io.Reader = strings.NewReader(strings.Join(out, ""))
	if limit, err := strconv.ParseInt(q.Get("limitBytes"), 10, 64); err == nil && limit > 0 {
		body = io.LimitReader(body, limit)
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.Copy(w, body)
}

// selfSignedServing is the agent's serving certificate: the API server does not check it
// unless given --kubelet-certificate-authority, as with K3s's self-signed kubelet certificates.
func selfSignedServing(ip, name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		IPAddresses: []net.IP{net.ParseIP(ip)}, DNSNames: []string{name}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
