package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

const defaultConfig = "/etc/rancher/k3s/config.yaml"

// Config keys K3s knows; others are warned about and skipped, as K3s does.
var serverKeys = set("write-kubeconfig", "write-kubeconfig-mode", "token", "token-file", "agent-token", "server",
	"cluster-init", "disable", "tls-san", "node-ip", "node-external-ip", "node-name", "node-label",
	"node-taint", "bind-address", "advertise-address", "https-listen-port", "cluster-cidr",
	"service-cidr", "cluster-dns", "flannel-backend", "flannel-iface", "kube-proxy-arg",
	"kubelet-arg", "kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg",
	"disable-network-policy", "disable-kube-proxy", "disable-cloud-controller", "secrets-encryption",
	"data-dir", "debug", "selinux", "protect-kernel-defaults", "egress-selector-mode", "embedded-registry")

var agentKeys = set("token", "token-file", "server", "node-ip", "node-external-ip", "node-name", "node-label",
	"node-taint", "flannel-iface", "kube-proxy-arg", "kubelet-arg", "data-dir", "debug", "selinux",
	"protect-kernel-defaults")

var listKeys = set("disable", "tls-san", "node-label", "node-taint", "kube-proxy-arg", "kubelet-arg",
	"kube-apiserver-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "node-ip", "node-external-ip")

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// config is K3s's effective configuration: strings, and lists for the list keys.
type config map[string]any

func (c config) str(key, def string) string {
	if v, ok := c[key]; ok {
		return fmt.Sprint(v)
	}
	return def
}

func (c config) list(key string) []string {
	v, _ := c[key].([]string)
	return v
}

// splitFlags reads --key=value and --key value pairs; repeated list flags accumulate.
func splitFlags(args []string) config {
	flags := config{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "--") && arg != "-c" {
			continue
		}
		key, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if key == "c" {
			key = "config"
		}
		var v any = value
		if !hasValue {
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				v = args[i]
			} else {
				v = true
			}
		}
		if listKeys[key] {
			flags[key] = append(flags.list(key), fmt.Sprint(v))
		} else {
			flags[key] = v
		}
	}
	return flags
}

// loadConfig reads config.yaml, then config.yaml.d/*.yaml in order ("key+" appends), then the
// flags, as K3s does; a file that is not valid YAML, or not a mapping, stops the start.
func loadConfig(flags config, known map[string]bool) config {
	path, _ := flags["config"].(string)
	delete(flags, "config")
	if path == "" {
		path = os.Getenv("K3S_CONFIG_FILE")
	}
	explicit := path != "" && path != defaultConfig
	if path == "" {
		path = defaultConfig
	}
	var files []string
	if _, err := os.Stat(path); err == nil {
		files = append(files, path)
	} else if explicit {
		fatal("config file %s does not exist", path)
	}
	for _, pattern := range []string{path + ".d/*.yaml", path + ".d/*.yml"} {
		more, _ := filepath.Glob(pattern)
		sort.Strings(more)
		files = append(files, more...)
	}
	cfg := config{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fatal("failed to read %s: %v", f, err)
		}
		var data any
		if err := yaml.Unmarshal(b, &data); err != nil {
			fatal("failed to parse %s: %s", f, strings.ReplaceAll(err.Error(), "\n", " "))
		}
		if data == nil {
			continue
		}
		m, ok := data.(map[string]any)
		if !ok {
			fatal("failed to parse %s: expected a mapping of flag names to values", f)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, raw := range keys {
			value := m[raw]
			key, appendTo := strings.TrimSuffix(raw, "+"), strings.HasSuffix(raw, "+")
			if !known[key] {
				warn("Unknown flag --%s found in config.yaml, skipping", key)
				continue
			}
			if listKeys[key] {
				var items []string
				if l, ok := value.([]any); ok {
					for _, x := range l {
						items = append(items, scalar(x))
					}
				} else {
					items = []string{scalar(value)}
				}
				if appendTo {
					items = append(cfg.list(key), items...)
				}
				cfg[key] = items
			} else {
				cfg[key] = scalar(value)
			}
		}
	}
	for k, v := range flags {
		cfg[k] = v
	}
	for env, key := range map[string]string{"K3S_TOKEN": "token", "K3S_URL": "server"} {
		if _, set := cfg[key]; !set && os.Getenv(env) != "" {
			cfg[key] = os.Getenv(env)
		}
	}
	if tf, ok := cfg["token-file"]; ok {
		if _, set := cfg["token"]; !set {
			b, err := os.ReadFile(fmt.Sprint(tf))
			if err != nil {
				fatal("failed to read token file: %v", err)
			}
			cfg["token"] = strings.TrimSpace(string(b))
		}
	}
	return cfg
}

// scalar is a YAML value as K3s's flag parser sees it: numbers as written (an unquoted 0644 is
// the integer 420, so it reaches K3s as "420").
func scalar(v any) string {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return fmt.Sprint(v)
}

// redacted is the config with its tokens masked, for the record of what K3s started with.
func redacted(c config) map[string]any {
	out := map[string]any{}
	for k, v := range c {
		if strings.Contains(k, "token") {
			v = "********"
		}
		out[k] = v
	}
	return out
}
