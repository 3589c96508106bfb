package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// prepare resolves the container's environment and writes its volumes.
func (r *podRunner) prepare(ctx context.Context, c corev1.Container) ([]string, []string, error) {
	pod := r.pod
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + r.hostname(), "KUBERNETES_SERVICE_HOST=" + r.n.apiHost, "KUBERNETES_SERVICE_PORT=" + r.n.apiPort}
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
	// The kubelet makes empty dirs world-writable: containers of one pod that run as different
	// users share them (MetalLB's cp-frr-files runs as FRR's user, FRR itself as root).
	if v.EmptyDir != nil {
		if err := os.Chmod(dir, 0o777); err != nil {
			return err
		}
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
