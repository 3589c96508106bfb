import { beforeAll, expect, it } from 'vitest';
import { $ } from 'zx';
import { describeLab, eventually, freshHosts, lab, onHost, onHostOk } from './lab-fixture.ts';
import { podGet, podShell } from './metallb-edge.ts';
import { K3S_NFT } from '../../src/resources/nft-command.ts';

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
  await $({
    quiet: true,
  })`ip netns exec ${names.controller} scp -F ${state.ssh.config} ${localPath} ${find(host).address}:${remotePath}`;
  await onHostOk(host, `chmod ${mode} ${remotePath}`);
}

async function writeOn(host: string, path: string, content: string): Promise<void> {
  await onHostOk(host, `mkdir -p "$(dirname ${path})" && cat > ${path} <<'PLAY_EOF'\n${content}PLAY_EOF`);
}

describeLab("the lab's K3s: a K3s-shaped shell around the real Kubernetes components", () => {
  beforeAll(async () => {
    await freshHosts('cp1', 'w1', 'w2');
    const { state } = lab();
    for (const host of ['cp1', 'w1']) await copyTo(host, state.k3sStandin, '/usr/local/bin/k3s', '0755');
    await writeOn(
      'cp1',
      '/etc/systemd/system/k3s.service',
      unit('Lightweight Kubernetes', '/usr/local/bin/k3s server'),
    );
    await writeOn(
      'w1',
      '/etc/systemd/system/k3s-agent.service',
      unit('Lightweight Kubernetes', '/usr/local/bin/k3s agent'),
    );
    await writeOn('cp1', '/etc/rancher/k3s/config.yaml', ARTICLE_CONFIG);
    await onHostOk('cp1', 'systemctl daemon-reload && systemctl enable --now k3s');
  });

  it('says what it is', async () => {
    expect(await onHostOk('cp1', 'k3s --version')).toMatch(
      /^k3s version v1\.34\.\d+\+k3s1 \(play lab: real Kubernetes components in a K3s-shaped shell, not K3s\)/,
    );
  });

  it('runs `k3s server` as a long-lived notify service that applied config.yaml at start', async () => {
    expect(
      (await onHostOk('cp1', 'systemctl show -p Type,ActiveState,SubState k3s')).trim().split('\n').sort(),
    ).toEqual(['ActiveState=active', 'SubState=running', 'Type=notify']);
    expect((await onHostOk('cp1', 'stat -c %a /etc/rancher/k3s/k3s.yaml')).trim()).toBe('644');
    const effective = JSON.parse(
      await onHostOk('cp1', 'cat /var/lib/rancher/k3s/server/standin-effective-config.json'),
    );
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
    expect(await onHostOk('cp1', 'journalctl -u k3s --no-pager -o cat -n 20')).toMatch(
      /level=fatal msg="failed to parse \/etc\/rancher\/k3s\/config.yaml/,
    );
    await writeOn('cp1', '/etc/rancher/k3s/config.yaml', ARTICLE_CONFIG);
    await onHostOk('cp1', 'systemctl restart k3s');
    expect((await onHostOk('cp1', 'systemctl is-active k3s')).trim()).toBe('active');
  });

  it('reads the config as K3s does: config.yaml.d drop-ins, key+ appends, unknown keys skipped with a warning', async () => {
    await writeOn('cp1', '/etc/rancher/k3s/config.yaml.d/50-extra.yaml', 'disable+:\n- traefik\nno-such-flag: 1\n');
    try {
      await onHostOk('cp1', 'systemctl restart k3s');
      const effective = JSON.parse(
        await onHostOk('cp1', 'cat /var/lib/rancher/k3s/server/standin-effective-config.json'),
      );
      expect(effective.disable).toEqual(['servicelb', 'traefik']);
      expect(effective).not.toHaveProperty('no-such-flag');
      expect(
        await onHostOk('cp1', 'journalctl -u k3s --no-pager -o cat --since=-30s | grep -F "Unknown flag"'),
      ).toContain('Unknown flag --no-such-flag found in config.yaml, skipping');
    } finally {
      await onHostOk('cp1', 'rm -r /etc/rancher/k3s/config.yaml.d && systemctl restart k3s');
    }
  });

  it('runs the real kube-proxy in nftables mode (with an nft where K3s keeps the one it bundles), and says it runs none in IPVS mode', async () => {
    const proxyMode = `timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/10249 && printf "GET /proxyMode HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3' | tail -1`;
    // The article's config asks for IPVS, which the lab's kernel lacks.
    expect(await onHostOk('cp1', 'journalctl -u k3s --no-pager -o cat | grep -F "kube-proxy not run"')).toContain(
      'the play lab runs it in nftables mode only (no iptables userspace, no IPVS in its kernel), and proxy-mode is ipvs',
    );
    expect((await onHost('cp1', proxyMode)).stdout).toBe('');
    await writeOn('cp1', '/etc/rancher/k3s/config.yaml.d/60-proxy.yaml', 'kube-proxy-arg:\n- proxy-mode=nftables\n');
    try {
      await onHostOk('cp1', 'systemctl restart k3s');
      expect(
        await eventually(
          'kube-proxy to answer',
          () => onHostOk('cp1', proxyMode),
          (m) => m !== '',
        ),
      ).toBe('nftables');
      // Its rules, read with the nft it runs with: the API server's Service among them.
      expect(
        await eventually(
          "the kubernetes Service in kube-proxy's table",
          () => onHostOk('cp1', `${K3S_NFT} list map ip kube-proxy service-ips`),
          (out) => out.includes('10.43.0.1'),
        ),
      ).toMatch(/10\.43\.0\.1 \. tcp \. 443 : goto service-\w+-default\/kubernetes\/tcp\/https/);
    } finally {
      await onHostOk('cp1', 'rm -r /etc/rancher/k3s/config.yaml.d && systemctl restart k3s');
    }
  });

  it('lets an agent join only with the cluster token', async () => {
    await copyTo('w2', lab().state.k3sStandin, '/usr/local/bin/k3s', '0755');
    await writeOn(
      'w2',
      '/etc/systemd/system/k3s-agent.service',
      unit('Lightweight Kubernetes', '/usr/local/bin/k3s agent'),
    );
    await writeOn('w2', '/etc/rancher/k3s/config.yaml', 'server: https://cp1:6443\ntoken: not-the-token\n');
    await onHostOk('w2', 'systemctl daemon-reload; systemctl start --no-block k3s-agent');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await onHost('w2', 'systemctl is-active k3s-agent')).stdout.trim()).toBe('activating');
    expect(await onHostOk('w2', 'journalctl -u k3s-agent --no-pager -o cat')).toMatch(
      /Failed to join the cluster at cp1:6443: 401 Unauthorized/,
    );
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
    const summary = nodes.items.map(
      (n: {
        metadata: { name: string; labels: Record<string, string> };
        status: { addresses: { address: string }[] };
      }) => [
        n.metadata.name,
        n.status.addresses[0]?.address,
        n.metadata.labels['node-role.kubernetes.io/control-plane'] ?? 'agent',
      ],
    );
    expect(summary).toEqual([
      ['cp1', '192.0.2.11', 'true'],
      ['w1', '192.0.2.12', 'agent'],
    ]);
    expect(
      await onHostOk('cp1', `k3s kubectl get node w1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'`),
    ).toBe('True');
    await onHostOk('w1', 'systemctl stop k3s-agent');
  });

  it('an agent where an earlier cluster left its pod bridge and routes sets its own pod network right', async () => {
    const cidr = (await onHostOk('cp1', `k3s kubectl get node w1 -o jsonpath='{.spec.podCIDR}'`)).trim();
    expect(cidr).toMatch(/^10\.42\.\d+\.0\/24$/);
    const gateway = cidr.replace(/0\/24$/, '1');
    // An earlier cluster's: the bridge holding another pod CIDR, and this node's CIDR routed via another node.
    await onHostOk(
      'w1',
      `ip link show cni0 >/dev/null 2>&1 || ip link add cni0 type bridge; ip addr flush dev cni0; ip addr add 10.42.99.1/24 dev cni0; ip route replace ${cidr} via 192.0.2.13`,
    );
    await onHostOk('w1', 'systemctl start k3s-agent');
    const net = await eventually(
      "w1's pod network",
      async () => onHostOk('w1', `ip -4 -o addr show dev cni0 | awk '{print $4}'; ip route show ${cidr}`),
      (out) => out.includes(`dev cni0`),
    );
    const [addresses, route, ...more] = net.trim().split('\n');
    expect(addresses).toBe(`${gateway}/24`);
    expect(route).toMatch(new RegExp(`^${cidr.replace(/\./g, '\\.')} dev cni0 `));
    expect(more).toEqual([]);
    await onHostOk('w1', 'systemctl stop k3s-agent');
  });

  it('runs the real Kubernetes control plane: kubectl and the API server are upstream v1.34, CRDs are served once applied', async () => {
    const version = JSON.parse(await onHostOk('cp1', 'k3s kubectl version -o json')) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(version.clientVersion.gitVersion).toBe(lab().state.components.kubernetes);
    expect(version.serverVersion.gitVersion).toBe(lab().state.components.kubernetes);
    await writeOn(
      'cp1',
      '/root/pool.yaml',
      'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\n  namespace: default\nspec:\n  addresses: [198.51.100.128/27]\n',
    );
    const early = await onHost('cp1', 'k3s kubectl apply -f /root/pool.yaml');
    expect(early.exitCode).toBe(1);
    expect(early.stderr).toContain('no matches for kind "IPAddressPool" in version "metallb.io/v1beta1"');
  });

  it("a pod whose image is not MetalLB's stays Pending on a node, saying why", async () => {
    await writeOn(
      'cp1',
      '/root/pod.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: nginx\n  namespace: default\nspec:\n  nodeName: cp1\n  containers:\n  - name: nginx\n    image: nginx:1.27\n',
    );
    await onHostOk('cp1', 'k3s kubectl apply -f /root/pod.yaml');
    const waiting = await eventually(
      'the node agent to report on the pod',
      async () =>
        onHostOk(
          'cp1',
          `k3s kubectl get pod nginx -o go-template='{{.status.phase}} {{range .status.containerStatuses}}{{.state.waiting.reason}}: {{.state.waiting.message}}{{end}}'`,
        ),
      (out) => out.includes('ImageNotRunnableInLab'),
    );
    expect(waiting).toMatch(
      /^Pending ImageNotRunnableInLab: image nginx:1.27: the play lab's node agent runs only MetalLB's controller and speaker, FRR and agnhost/,
    );
    await onHostOk('cp1', 'k3s kubectl delete pod nginx --wait=true --timeout=30s');
  });

  it("runs agnhost, the e2e tests' image, under its own name and tag, with the kubelet's exec probes, restarts and preStop hook", async () => {
    const kubectl = (args: string): Promise<string> => onHostOk('cp1', `k3s kubectl ${args}`);
    const pod = (name: string, image: string, extra = ''): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: default }
spec:
  nodeName: cp1
  terminationGracePeriodSeconds: 10
  containers:
  - name: netexec
    image: ${image}
    args: [netexec, --http-port=8080]
${extra}`;
    const probes = `    readinessProbe: { exec: { command: [sh, -c, 'test ! -e /tmp/unready'] }, periodSeconds: 1, failureThreshold: 1 }
    livenessProbe: { exec: { command: [sh, -c, 'test ! -e /tmp/dead'] }, periodSeconds: 1, failureThreshold: 2 }
    lifecycle: { preStop: { exec: { command: [sleep, '3'] } } }
`;
    await writeOn('cp1', '/root/agnhost.yaml', pod('agnhost', 'registry.k8s.io/e2e-test-images/agnhost:2.56', probes));
    await writeOn('cp1', '/root/other-tag.yaml', pod('other-tag', 'registry.k8s.io/e2e-test-images/agnhost:2.40'));
    await kubectl('apply -f /root/agnhost.yaml -f /root/other-tag.yaml');
    const state = (name: string): Promise<string> =>
      kubectl(
        `get pod ${name} -o go-template='{{.status.podIP}} {{range .status.conditions}}{{if eq .type "Ready"}}{{.status}}{{end}}{{end}} {{range .status.containerStatuses}}{{.restartCount}} {{if .state.running}}running{{end}}{{.state.waiting.reason}}: {{.state.waiting.message}}{{end}}'`,
      );
    const ready = await eventually(
      'agnhost ready',
      () => state('agnhost'),
      (s) => / True 0 running/.test(s),
    );
    const ip = ready.split(' ')[0] ?? '';
    // The app, asked on its pod address from the node: its own name for a host name.
    const agnhost = { node: 'cp1', ip };
    expect(await podGet(agnhost, '/hostname')).toBe('agnhost');
    // The readiness probe runs in the container: a file the app makes turns it unready, and back.
    await podShell(agnhost, 'touch /tmp/unready');
    await eventually(
      'agnhost unready',
      () => state('agnhost'),
      (s) => / False 0 running/.test(s),
      { timeoutMs: 10_000 },
    );
    await podShell(agnhost, 'rm /tmp/unready');
    await eventually(
      'agnhost ready again',
      () => state('agnhost'),
      (s) => / True 0 running/.test(s),
      { timeoutMs: 10_000 },
    );
    // A failing liveness probe restarts the container, in a fresh writable layer (no /tmp/dead).
    await podShell(agnhost, 'touch /tmp/dead');
    await eventually(
      'agnhost restarted and ready',
      () => state('agnhost'),
      (s) => / True 1 running/.test(s),
      { timeoutMs: 30_000 },
    );
    // Another tag than the pinned Kubernetes' agnhost has stays Pending, saying which tag there is.
    expect(
      await eventually(
        'other-tag pending',
        () => state('other-tag'),
        (s) => s.includes('ImageNotRunnableInLab'),
      ),
    ).toContain('the lab builds agnhost at the tag its Kubernetes version has (2.56), not 2.40');
    // preStop runs before SIGTERM: netexec stops at once on SIGTERM, the pod takes the hook's 3 s.
    const started = Date.now();
    await kubectl('delete pod agnhost --wait=true --timeout=30s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    await kubectl('delete pod other-tag --wait=true --timeout=30s');
  });

  it("deploys the server manifests directory as K3s's deploy controller does: an Addon per file, objectset labels, changes applied, removed objects pruned", async () => {
    const manifest = '/var/lib/rancher/k3s/server/manifests/probe.yaml';
    const configMap = (name: string, v: string): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  v: ${v}\n`;
    const kubectl = (args: string): Promise<string> => onHostOk('cp1', `k3s kubectl ${args}`);
    // K3s reads the directory every 15 s.
    const within = { timeoutMs: 60_000 };
    await writeOn('cp1', manifest, `${configMap('probe-a', 'one')}---\n${configMap('probe-b', 'one')}`);
    const sum = async (): Promise<string> => (await onHostOk('cp1', `sha256sum ${manifest}`)).split(' ')[0] ?? '';
    const addon = (): Promise<string> =>
      kubectl(
        `-n kube-system get addon probe -o go-template='{{.spec.source}} {{.spec.checksum}}' 2>/dev/null || true`,
      );
    expect(await eventually('the Addon for probe.yaml', addon, (out) => out.includes(' '), within)).toBe(
      `${manifest} ${await sum()}`,
    );
    const owned = `-o go-template='{{range .items}}{{.metadata.name}}={{.data.v}} {{index .metadata.annotations "objectset.rio.cattle.io/owner-name"}} {{index .metadata.annotations "objectset.rio.cattle.io/owner-gvk"}}{{"\\n"}}{{end}}' -l objectset.rio.cattle.io/hash`;
    expect((await kubectl(`get configmaps ${owned}`)).trim().split('\n').sort()).toEqual([
      'probe-a=one probe k3s.cattle.io/v1, Kind=Addon',
      'probe-b=one probe k3s.cattle.io/v1, Kind=Addon',
    ]);

    await writeOn('cp1', manifest, configMap('probe-a', 'two'));
    const after = await eventually(
      'probe-b pruned, probe-a changed',
      () => kubectl(`get configmaps ${owned}`),
      (out) => out.trim() === 'probe-a=two probe k3s.cattle.io/v1, Kind=Addon',
      within,
    );
    expect(after.trim()).toBe('probe-a=two probe k3s.cattle.io/v1, Kind=Addon');
    const changed = `${manifest} ${await sum()}`;
    expect(await eventually("the Addon's new checksum", addon, (out) => out === changed)).toBe(changed);
    const events = await kubectl(
      `-n kube-system get events --field-selector involvedObject.kind=Addon,involvedObject.name=probe -o go-template='{{range .items}}{{.reason}}{{"\\n"}}{{end}}'`,
    );
    expect(
      events
        .trim()
        .split('\n')
        .filter((r) => r === 'AppliedManifest'),
    ).toHaveLength(2);

    // A file K3s cannot parse gets an event saying so; a deleted file leaves its objects.
    await writeOn('cp1', '/var/lib/rancher/k3s/server/manifests/broken.yaml', 'kind: [unclosed\n');
    expect(
      await eventually(
        'ParseManifestFailed on broken',
        () =>
          kubectl(
            `-n kube-system get events --field-selector involvedObject.name=broken -o go-template='{{range .items}}{{.reason}} {{end}}'`,
          ),
        (out) => out.includes('ParseManifestFailed'),
        within,
      ),
    ).toContain('ParseManifestFailed');
    await onHostOk('cp1', `rm ${manifest} /var/lib/rancher/k3s/server/manifests/broken.yaml`);
    await new Promise((r) => setTimeout(r, 16_000));
    expect(await kubectl('get configmap probe-a -o name')).toBe('configmap/probe-a\n');
  }, 180_000);

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
