package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// The K3s deploy controller's contract (k3s-io/k3s pkg/deploy), which the k3s shell runs as
// `kube deploy`: every manifest in the auto-deploy directory is tracked by an Addon
// (k3s.cattle.io/v1) in kube-system named after the file (up to its first dot) with the file's
// path and SHA-256; its objects are applied carrying wrangler's objectset labels and annotations
// with the Addon as owner, and objects it applied before that the file no longer holds are deleted.
// A changed file is applied again; a deleted file leaves its objects; `NAME.skip` beside a file,
// dotfiles and anything but .yaml, .yml and .json are ignored. Events on the Addon say what
// happened (ApplyingManifest, AppliedManifest, ApplyManifestFailed, ParseManifestFailed).
const (
	addonGVKsAnnotation = "addon.k3s.cattle.io/gvks"
	objectsetHash       = "objectset.rio.cattle.io/hash"
	objectsetID         = "objectset.rio.cattle.io/id"
	objectsetOwnerGVK   = "objectset.rio.cattle.io/owner-gvk"
	objectsetOwnerName  = "objectset.rio.cattle.io/owner-name"
	objectsetOwnerNS    = "objectset.rio.cattle.io/owner-namespace"
	deployFieldManager  = "deploy@k3s"
)

var (
	addonGVK      = schema.GroupVersionKind{Group: "k3s.cattle.io", Version: "v1", Kind: "Addon"}
	addonResource = schema.GroupVersionResource{Group: "k3s.cattle.io", Version: "v1", Resource: "addons"}
	crdResource   = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

type deployer struct {
	dir     string
	dyn     dynamic.Interface
	client  kubernetes.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	modTime map[string]time.Time
}

func runDeploy(args []string) int {
	fs := flag.NewFlagSet("deploy", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig")
	dir := fs.String("dir", "", "the auto-deploy manifests directory")
	every := fs.Duration("interval", 15*time.Second, "how often the directory is read (K3s: 15 s)")
	_ = fs.Parse(args)
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		return 1
	}
	d := &deployer{dir: *dir, modTime: map[string]time.Time{}}
	if d.dyn, err = dynamic.NewForConfig(cfg); err == nil {
		d.client, err = kubernetes.NewForConfig(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		return 1
	}
	d.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(d.client.Discovery()))
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	force := true
	for {
		if err := d.ensureAddonCRD(ctx); err != nil && ctx.Err() == nil {
			logf("Failed to register the Addon CRD: %v", err)
		} else if err := d.pass(ctx, force); err != nil {
			logf("Failed to process config: %v", err)
		} else {
			force = false
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(*every):
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "deploy: "+format+"\n", args...)
}

// pass applies every manifest changed since it was last applied (all of them when forced, as at
// K3s's start, when only a checksum differing from the Addon's leads to an apply).
func (d *deployer) pass(ctx context.Context, force bool) error {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return err
	}
	skips := map[string]bool{}
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".skip"); ok {
			skips[name] = true
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var errs []error
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || strings.HasPrefix(name, ".") || skips[name] || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		path := filepath.Join(d.dir, name)
		info, err := os.Stat(path)
		if err != nil {
			continue
		}
		if !force && info.ModTime().Equal(d.modTime[path]) {
			continue
		}
		if err := d.deploy(ctx, path, !force); err != nil {
			errs = append(errs, fmt.Errorf("failed to process %s: %w", path, err))
			continue
		}
		d.modTime[path] = info.ModTime()
	}
	return errors.Join(errs...)
}

func (d *deployer) deploy(ctx context.Context, path string, compareChecksum bool) error {
	name := strings.SplitN(filepath.Base(path), ".", 2)[0]
	addons := d.dyn.Resource(addonResource).Namespace(metav1.NamespaceSystem)
	addon, err := addons.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		addon = &unstructured.Unstructured{}
		addon.SetGroupVersionKind(addonGVK)
		addon.SetName(name)
		addon.SetNamespace(metav1.NamespaceSystem)
		_ = unstructured.SetNestedField(addon.Object, path, "spec", "source")
		addon, err = addons.Create(ctx, addon, metav1.CreateOptions{})
	}
	if err != nil {
		return err
	}
	content, err := os.ReadFile(path)
	if err != nil {
		d.event(ctx, addon, corev1.EventTypeWarning, "ReadManifestFailed", "Read manifest at %q failed: %v", path, err)
		return err
	}
	sum := sha256.Sum256(content)
	checksum := hex.EncodeToString(sum[:])
	if old, _, _ := unstructured.NestedString(addon.Object, "spec", "checksum"); compareChecksum && old == checksum {
		return nil
	}
	objects, err := decodeObjects(content)
	if err != nil {
		d.event(ctx, addon, corev1.EventTypeWarning, "ParseManifestFailed", "Parse manifest at %q failed: %v", path, err)
		return err
	}
	d.event(ctx, addon, corev1.EventTypeNormal, "ApplyingManifest", "Applying manifest at %q", path)
	gvks, err := d.apply(ctx, addon, objects)
	if err != nil {
		d.event(ctx, addon, corev1.EventTypeWarning, "ApplyManifestFailed", "Applying manifest at %q failed: %v", path, err)
		return err
	}
	d.event(ctx, addon, corev1.EventTypeNormal, "AppliedManifest", "Applied manifest at %q", path)
	_ = unstructured.SetNestedField(addon.Object, path, "spec", "source")
	_ = unstructured.SetNestedField(addon.Object, checksum, "spec", "checksum")
	annotations := addon.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[addonGVKsAnnotation] = strings.Join(gvks, ";")
	addon.SetAnnotations(annotations)
	_, err = addons.Update(ctx, addon, metav1.UpdateOptions{})
	return err
}

// apply applies the objects owned by the addon, Namespaces and CRDs first, then deletes what the
// addon applied before and the file no longer holds. It returns the kinds the file holds.
func (d *deployer) apply(ctx context.Context, addon *unstructured.Unstructured, objects []*unstructured.Unstructured) ([]string, error) {
	owner := map[string]string{objectsetID: "", objectsetOwnerGVK: addonGVK.String(), objectsetOwnerName: addon.GetName(), objectsetOwnerNS: addon.GetNamespace()}
	h := sha1.New()
	for _, k := range []string{objectsetID, objectsetOwnerGVK, objectsetOwnerName, objectsetOwnerNS} {
		h.Write([]byte(owner[k]))
	}
	hash := hex.EncodeToString(h.Sum(nil))
	first := func(o *unstructured.Unstructured) int {
		switch o.GetKind() {
		case "Namespace", "CustomResourceDefinition":
			return 0
		}
		return 1
	}
	sort.SliceStable(objects, func(i, j int) bool { return first(objects[i]) < first(objects[j]) })
	wanted := map[schema.GroupVersionKind]map[types.NamespacedName]bool{}
	for _, o := range objects {
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[objectsetHash] = hash
		o.SetLabels(labels)
		annotations := o.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		for k, v := range owner {
			annotations[k] = v
		}
		o.SetAnnotations(annotations)
		resource, namespaced, err := d.resource(o.GroupVersionKind())
		if err != nil {
			return nil, err
		}
		ns := ""
		if namespaced {
			ns = o.GetNamespace()
			if ns == "" {
				ns = metav1.NamespaceDefault
			}
			o.SetNamespace(ns)
		}
		if _, err := d.dyn.Resource(resource).Namespace(ns).Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: deployFieldManager, Force: true}); err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		gvk := o.GroupVersionKind()
		if wanted[gvk] == nil {
			wanted[gvk] = map[types.NamespacedName]bool{}
		}
		wanted[gvk][types.NamespacedName{Namespace: ns, Name: o.GetName()}] = true
	}
	var kinds []string
	for gvk := range wanted {
		kinds = append(kinds, gvk.String())
	}
	sort.Strings(kinds)
	// Kinds applied before are searched too, so an object whose kind left the file is pruned.
	before := map[schema.GroupVersionKind]bool{}
	for _, s := range strings.Split(addon.GetAnnotations()[addonGVKsAnnotation], ";") {
		if gvk, ok := parseGVK(s); ok {
			before[gvk] = true
		}
	}
	for gvk := range wanted {
		before[gvk] = true
	}
	for gvk := range before {
		resource, _, err := d.resource(gvk)
		if err != nil {
			continue // the kind is gone from the server (a removed CRD): nothing of it to prune
		}
		list, err := d.dyn.Resource(resource).List(ctx, metav1.ListOptions{LabelSelector: objectsetHash + "=" + hash})
		if err != nil {
			return nil, err
		}
		for _, item := range list.Items {
			if wanted[gvk][types.NamespacedName{Namespace: item.GetNamespace(), Name: item.GetName()}] {
				continue
			}
			if err := d.dyn.Resource(resource).Namespace(item.GetNamespace()).Delete(ctx, item.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return nil, err
			}
			logf("Deleted %s %s/%s: no longer in the manifests of addon %s", gvk.Kind, item.GetNamespace(), item.GetName(), addon.GetName())
		}
	}
	return kinds, nil
}

// resource maps a kind to its resource; a kind the cached discovery does not know yet (a CRD
// applied a moment ago) makes it read discovery again.
func (d *deployer) resource(gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool, error) {
	m, err := d.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		d.mapper.Reset()
		m, err = d.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	return m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

func parseGVK(s string) (schema.GroupVersionKind, bool) {
	gv, kind, ok := strings.Cut(strings.TrimSpace(s), ", Kind=")
	if !ok {
		return schema.GroupVersionKind{}, false
	}
	parsed, err := schema.ParseGroupVersion(gv)
	if err != nil {
		return schema.GroupVersionKind{}, false
	}
	return parsed.WithKind(kind), true
}

// decodeObjects reads the YAML or JSON documents of a manifest, lists unrolled.
func decodeObjects(content []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(content)))
	var out []*unstructured.Unstructured
	for {
		raw, err := reader.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := utilyaml.ToJSON(raw)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		obj, _, err := unstructured.UnstructuredJSONScheme.Decode(js, nil, nil)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *unstructured.UnstructuredList:
			for i := range o.Items {
				out = append(out, &o.Items[i])
			}
		case *unstructured.Unstructured:
			out = append(out, o)
		}
	}
}

func (d *deployer) event(ctx context.Context, addon *unstructured.Unstructured, kind, reason, format string, args ...any) {
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: addon.GetName() + ".", Namespace: addon.GetNamespace()},
		InvolvedObject: corev1.ObjectReference{APIVersion: addonGVK.GroupVersion().String(), Kind: addonGVK.Kind, Namespace: addon.GetNamespace(), Name: addon.GetName(), UID: addon.GetUID(), ResourceVersion: addon.GetResourceVersion()},
		Reason:         reason, Message: fmt.Sprintf(format, args...), Type: kind,
		Source: corev1.EventSource{Component: "deploy"}, FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	if _, err := d.client.CoreV1().Events(addon.GetNamespace()).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		logf("event %s on addon %s: %v", reason, addon.GetName(), err)
	}
	logf("%s: %s", reason, ev.Message)
}

// ensureAddonCRD registers K3s's Addon kind, as K3s does at start.
func (d *deployer) ensureAddonCRD(ctx context.Context) error {
	crds := d.dyn.Resource(crdResource)
	if _, err := crds.Get(ctx, "addons.k3s.cattle.io", metav1.GetOptions{}); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "addons.k3s.cattle.io"},
		"spec": map[string]any{
			"group": "k3s.cattle.io",
			"names": map[string]any{"kind": "Addon", "plural": "addons", "singular": "addon", "listKind": "AddonList"},
			"scope": "Namespaced",
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"additionalPrinterColumns": []any{
					map[string]any{"name": "Source", "type": "string", "jsonPath": ".spec.source"},
					map[string]any{"name": "Checksum", "type": "string", "jsonPath": ".spec.checksum"},
				},
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"spec": map[string]any{"type": "object", "properties": map[string]any{
							"source": map[string]any{"type": "string"}, "checksum": map[string]any{"type": "string"},
						}},
						"status": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true},
					},
				}},
			}},
		},
	}}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got, err := crds.Get(ctx, "addons.k3s.cattle.io", metav1.GetOptions{})
		if err != nil {
			continue
		}
		conditions, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conditions {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				d.mapper.Reset()
				return nil
			}
		}
	}
	return fmt.Errorf("the Addon CRD is not established after 30 s")
}
