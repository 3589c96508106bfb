import { beforeAll, expect, it } from 'vitest';
import { $ } from 'zx';
import { describeLab, eventually, freshHosts, lab, onHost, onHostOk } from './lab-fixture.ts';

/** The units K3s's installer writes, trimmed to what matters to the roles. */
const unit = (description: string, exec: string): string => `[Unit]
Description=${description}
Wants=network-online.target
After=network-online.target
[Service]
Type=notify
ExecStart=${exec}
KillMode=process
Delegate=yes
Restart=always
RestartSec=5s
TimeoutStartSec=0
[Install]
WantedBy=multi-user.target
`;

const TOKEN = 'K10lab-secret-token-do-not-print';
const ARTICLE_CONFIG = `write-kubeconfig-mode: "0644"
token: ${TOKEN}
disable:
- servicelb
kube-proxy-arg:
- proxy-mode=ipvs
- ipvs-strict-arp=true
`;

/** Copies a local file to a host over SSH, the way the k3s role's airgap path does. */
async function copyTo(host: string, localPath: string, remotePath: string, mode: string): Promise<void> {
  const { names, state, host: find } = lab();
  await $({ quiet: true })`ip netns exec ${names.controller} scp -F ${state.ssh.config} ${localPath} ${find(host).address}:${remotePath}`;
  await onHostOk(host, `chmod ${mode} ${remotePath}`);
}

async function writeOn(host: string, path: string, content: string): Promise<void> {
  await onHostOk(host, `mkdir -p "$(dirname ${path})" && cat > ${path} <<'PLAY_EOF'\n${content}PLAY_EOF`);
}

describeLab('the lab\'s K3s: a K3s-shaped shell around the real Kubernetes components', () => {
  beforeAll(async () => {
    await freshHosts('cp1', 'w1', 'w2');
    const { state } = lab();
    for (const host of ['cp1', 'w1']) await copyTo(host, state.k3sStandin, '/usr/local/bin/k3s', '0755');
    await writeOn('cp1', '/etc/systemd/system/k3s.service', unit('Lightweight Kubernetes', '/usr/local/bin/k3s server'));
    await writeOn('w1', '/etc/systemd/system/k3s-agent.service', unit('Lightweight Kubernetes', '/usr/local/bin/k3s agent'));
    await writeOn('cp1', '/etc/rancher/k3s/config.yaml', ARTICLE_CONFIG);
    await onHostOk('cp1', 'systemctl daemon-reload && systemctl enable --now k3s');
  });

  it('says what it is', async () => {
    expect(await onHostOk('cp1', 'k3s --version')).toMatch(/^k3s version v1\.34\.\d+\+k3s1 \(play lab: real Kubernetes components in a K3s-shaped shell, not K3s\)/);
  });

  it('runs `k3s server` as a long-lived notify service that applied config.yaml at start', async () => {
    expect((await onHostOk('cp1', 'systemctl show -p Type,ActiveState,SubState k3s')).trim().split('\n').sort()).toEqual(['ActiveState=active', 'SubState=running', 'Type=notify']);
    expect((await onHostOk('cp1', 'stat -c %a /etc/rancher/k3s/k3s.yaml')).trim()).toBe('644');
    const effective = JSON.parse(await onHostOk('cp1', 'cat /var/lib/rancher/k3s/server/standin-effective-config.json'));
    expect(effective.disable).toEqual(['servicelb']);
    expect(effective['kube-proxy-arg']).toEqual(['proxy-mode=ipvs', 'ipvs-strict-arp=true']);
    expect((await onHostOk('cp1', 'cat /var/lib/rancher/k3s/server/node-token')).trim()).toBe(TOKEN);
  });

  it('never prints the token: not in its journal, not in its effective config', async () => {
    const journal = await onHostOk('cp1', 'journalctl -u k3s --no-pager -o cat');
    expect(journal).toContain('k3s is up and running');
    expect(journal).not.toContain(TOKEN);
    expect(await onHostOk('cp1', 'cat /var/lib/rancher/k3s/server/standin-effective-config.json')).not.toContain(TOKEN);
  });

  it('fails to start when config.yaml is not valid YAML, and starts again once it is', async () => {
    await writeOn('cp1', '/etc/rancher/k3s/config.yaml', 'disable: [servicelb\n');
    const r = await onHost('cp1', 'systemctl restart k3s');
    expect(r.exitCode).not.toBe(0);
    expect(await onHostOk('cp1', 'journalctl -u k3s --no-pager -o cat -n 20')).toMatch(/level=fatal msg="failed to parse \/etc\/rancher\/k3s\/config.yaml/);
    await writeOn('cp1', '/etc/rancher/k3s/config.yaml', ARTICLE_CONFIG);
    await onHostOk('cp1', 'systemctl restart k3s');
    expect((await onHostOk('cp1', 'systemctl is-active k3s')).trim()).toBe('active');
  });

  it('reads the config as K3s does: config.yaml.d drop-ins, key+ appends, unknown keys skipped with a warning', async () => {
    await writeOn('cp1', '/etc/rancher/k3s/config.yaml.d/50-extra.yaml', 'disable+:\n- traefik\nno-such-flag: 1\n');
    try {
      await onHostOk('cp1', 'systemctl restart k3s');
      const effective = JSON.parse(await onHostOk('cp1', 'cat /var/lib/rancher/k3s/server/standin-effective-config.json'));
      expect(effective.disable).toEqual(['servicelb', 'traefik']);
      expect(effective).not.toHaveProperty('no-such-flag');
      expect(await onHostOk('cp1', 'journalctl -u k3s --no-pager -o cat --since=-30s | grep -F "Unknown flag"')).toContain('Unknown flag --no-such-flag found in config.yaml, skipping');
    } finally {
      await onHostOk('cp1', 'rm -r /etc/rancher/k3s/config.yaml.d && systemctl restart k3s');
    }
  });

  it('lets an agent join only with the cluster token', async () => {
    await copyTo('w2', lab().state.k3sStandin, '/usr/local/bin/k3s', '0755');
    await writeOn('w2', '/etc/systemd/system/k3s-agent.service', unit('Lightweight Kubernetes', '/usr/local/bin/k3s agent'));
    await writeOn('w2', '/etc/rancher/k3s/config.yaml', 'server: https://cp1:6443\ntoken: not-the-token\n');
    await onHostOk('w2', 'systemctl daemon-reload; systemctl start --no-block k3s-agent');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await onHost('w2', 'systemctl is-active k3s-agent')).stdout.trim()).toBe('activating');
    expect(await onHostOk('w2', 'journalctl -u k3s-agent --no-pager -o cat')).toMatch(/Failed to join the cluster at cp1:6443: 401 Unauthorized/);
    expect(await onHostOk('cp1', 'k3s kubectl get nodes -o name')).not.toContain('w2');
    await onHostOk('w2', 'systemctl stop k3s-agent');
  });

  it('runs `k3s agent` only with a server and a token, and it connects to the server', async () => {
    const missing = await onHost('w1', 'systemctl start k3s-agent');
    expect(missing.exitCode).not.toBe(0);
    expect(await onHostOk('w1', 'journalctl -u k3s-agent --no-pager -o cat -n 5')).toContain('--server is required');
    await writeOn('w1', '/etc/rancher/k3s/config.yaml', `server: https://cp1:6443\ntoken: ${TOKEN}\n`);
    await onHostOk('w1', 'systemctl reset-failed k3s-agent; systemctl start k3s-agent');
    expect((await onHostOk('w1', 'systemctl is-active k3s-agent')).trim()).toBe('active');
    const journal = await onHostOk('w1', 'journalctl -u k3s-agent --no-pager -o cat');
    expect(journal).toContain('Connected to server cp1:6443');
    expect(journal).not.toContain(TOKEN);
    const nodes = JSON.parse(await onHostOk('cp1', 'k3s kubectl get nodes -o json'));
    const summary = nodes.items.map((n: { metadata: { name: string; labels: Record<string, string> }; status: { addresses: { address: string }[] } }) =>
      [n.metadata.name, n.status.addresses[0]?.address, n.metadata.labels['node-role.kubernetes.io/control-plane'] ?? 'agent']);
    expect(summary).toEqual([['cp1', '192.0.2.11', 'true'], ['w1', '192.0.2.12', 'agent']]);
    expect(await onHostOk('cp1', `k3s kubectl get node w1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'`)).toBe('True');
    await onHostOk('w1', 'systemctl stop k3s-agent');
  });

  it('runs the real Kubernetes control plane: kubectl and the API server are upstream v1.34, CRDs are served once applied', async () => {
    const version = JSON.parse(await onHostOk('cp1', 'k3s kubectl version -o json')) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    expect(version.clientVersion.gitVersion).toBe(lab().state.components.kubernetes);
    expect(version.serverVersion.gitVersion).toBe(lab().state.components.kubernetes);
    await writeOn('cp1', '/root/pool.yaml', 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\n  namespace: default\nspec:\n  addresses: [198.51.100.128/27]\n');
    const early = await onHost('cp1', 'k3s kubectl apply -f /root/pool.yaml');
    expect(early.exitCode).toBe(1);
    expect(early.stderr).toContain('no matches for kind "IPAddressPool" in version "metallb.io/v1beta1"');
  });

  it('a pod whose image is not MetalLB\'s stays Pending on a node, saying why', async () => {
    await writeOn('cp1', '/root/pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: nginx\n  namespace: default\nspec:\n  nodeName: cp1\n  containers:\n  - name: nginx\n    image: nginx:1.27\n');
    await onHostOk('cp1', 'k3s kubectl apply -f /root/pod.yaml');
    const waiting = await eventually('the node agent to report on the pod', async () => onHostOk('cp1', `k3s kubectl get pod nginx -o go-template='{{.status.phase}} {{range .status.containerStatuses}}{{.state.waiting.reason}}: {{.state.waiting.message}}{{end}}'`), (out) => out.includes('ImageNotRunnableInLab'));
    expect(waiting).toMatch(/^Pending ImageNotRunnableInLab: image nginx:1.27: the play lab's node agent runs only MetalLB's controller and speaker/);
    await onHostOk('cp1', 'k3s kubectl delete pod nginx --wait=true --timeout=30s');
  });

  it('applies what is dropped into the server manifests directory, and again when it changes', async () => {
    const manifest = '/var/lib/rancher/k3s/server/manifests/probe.yaml';
    const waitFor = async (command: string, text: string): Promise<string> => {
      let out = '';
      for (let i = 0; i < 20 && !out.includes(text); i++) {
        await new Promise((r) => setTimeout(r, 500));
        out = await onHostOk('cp1', command);
      }
      return out;
    };
    await writeOn('cp1', manifest, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-manifests-dir\ndata:\n  v: one\n');
    expect(await waitFor('k3s kubectl get configmaps -o name', 'from-manifests-dir')).toContain('configmap/from-manifests-dir');
    await writeOn('cp1', manifest, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-manifests-dir\ndata:\n  v: two\n');
    expect(await waitFor('k3s kubectl get configmap from-manifests-dir -o yaml', 'v: two')).toMatch(/^ {2}v: two$/m);
  });

  it('kubectl fails like kubectl when no server runs', async () => {
    const agent = await onHost('w1', 'k3s kubectl get nodes');
    expect(agent.exitCode).toBe(1);
    // As K3s: without /etc/rancher/k3s/k3s.yaml, kubectl falls back to its own default.
    expect(agent.stderr).toContain('The connection to the server localhost:8080 was refused');
    await onHostOk('cp1', 'systemctl stop k3s');
    try {
      const stopped = await onHost('cp1', 'k3s kubectl get namespaces');
      expect(stopped.exitCode).toBe(1);
      expect(stopped.stderr).toContain('The connection to the server 127.0.0.1:6443 was refused');
    } finally {
      await onHostOk('cp1', 'systemctl start k3s');
    }
  });
});
