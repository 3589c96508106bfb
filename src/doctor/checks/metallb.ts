import { LOG_WINDOW_MINUTES, type ClusterFacts, type KubePod, type MetallbLogLine } from '../facts.ts';
import { CLUSTER, fail, ok, warn, type Finding } from '../findings.ts';
import { METALLB_CRDS } from '../../../roles/_shared/metallb.ts';
import { nodesOf, type Intended } from '../intended.ts';
import { nodeNamed, podReady, podTrouble, speakersByNode, untoleratedTaints } from './kube.ts';

/** MetalLB itself: the controller ready, a ready speaker on every node, the webhook reachable. */
export function metallbChecks(intended: Intended, c: ClusterFacts): Finding[] {
  const ns = intended.namespace;
  const out: Finding[] = [crdCheck(c)];
  const controllers = c.pods.filter(
    (p) => p.metadata.namespace === ns && p.metadata.labels?.component === 'controller',
  );
  const readyController = controllers.find(podReady);
  if (readyController)
    out.push(
      ok('metallb', CLUSTER, 'controller ready', [
        `${readyController.metadata.name} on ${readyController.spec.nodeName ?? '?'}: Ready`,
      ]),
    );
  else
    out.push(
      fail(
        'metallb',
        CLUSTER,
        'controller ready',
        controllers.length ? controllers.map(podTrouble) : [`no controller pod in ${ns}`],
        'no MetalLB controller is ready: no Service gets an address, and the webhook refuses every MetalLB object',
        `k3s kubectl -n ${ns} describe pod -l component=controller; reinstall with: play site.yaml -i INVENTORY --role metallb-install`,
      ),
    );
  const speakers = speakersByNode(c, ns);
  for (const host of nodesOf(intended)) {
    const pod = speakers.get(host);
    if (pod && podReady(pod)) out.push(ok('metallb', host, 'speaker ready', [`${pod.metadata.name}: Ready`]));
    else out.push(speakerDown(intended, c, host, pod, speakers));
  }
  const webhook = c.endpointSlices.filter(
    (e) =>
      e.metadata.namespace === ns && e.metadata.labels?.['kubernetes.io/service-name'] === 'metallb-webhook-service',
  );
  const ready = webhook.flatMap((e) =>
    (e.endpoints ?? []).filter((ep) => ep.conditions?.ready !== false).flatMap((ep) => ep.addresses),
  );
  if (ready.length > 0)
    out.push(ok('metallb', CLUSTER, 'webhook endpoints ready', [`metallb-webhook-service: ${ready.join(', ')}`]));
  else
    out.push(
      fail(
        'metallb',
        CLUSTER,
        'webhook endpoints ready',
        ['metallb-webhook-service has no ready endpoint'],
        'the API server cannot call MetalLB\'s webhook: applying pools, peers and advertisements fails ("failed calling webhook")',
        `wait for the controller to be ready (k3s kubectl -n ${ns} get pods), then rerun: play site.yaml -i INVENTORY --role l2-or-bgp`,
      ),
    );
  out.push(...logChecks(intended, c));
  return out;
}

/** A node without a ready speaker, and why: the pod's state, or why the DaemonSet put none there. */
function speakerDown(
  intended: Intended,
  c: ClusterFacts,
  host: string,
  pod: KubePod | undefined,
  speakers: Map<string, KubePod>,
): Finding {
  const ns = intended.namespace;
  const silent = `the node does not ${intended.mode === 'bgp' ? 'announce Service addresses to the edge' : 'answer ARP for Service addresses'}`;
  const describe = `k3s kubectl -n ${ns} describe pod ${pod?.metadata.name ?? '-l component=speaker'}`;
  if (pod)
    return fail(
      'metallb',
      host,
      'speaker ready',
      [podTrouble(pod)],
      `MetalLB's speaker on ${host} is not ready: ${silent}`,
      `${describe}; check that K3s runs on ${host}`,
    );
  // No pod at all: the DaemonSet's pods elsewhere carry the tolerations it gives every node.
  const tolerations = [...speakers.values()][0]?.spec.tolerations;
  const taints = tolerations ? untoleratedTaints(nodeNamed(c, host), tolerations) : [];
  if (taints.length > 0)
    return fail(
      'metallb',
      host,
      'speaker ready',
      [`no speaker pod on ${host}`, `${host} is tainted ${taints.join(', ')}`],
      `${host} has a taint MetalLB's speaker does not tolerate (${taints.join(', ')}), so the speaker DaemonSet runs nothing there: ${silent}`,
      `remove the taint (k3s kubectl taint nodes ${host} ${taints[0]}-) or add a toleration for it to the speaker DaemonSet`,
    );
  return fail(
    'metallb',
    host,
    'speaker ready',
    [`no speaker pod on ${host}`],
    `MetalLB's speaker is not running on ${host}: ${silent}`,
    `k3s kubectl -n ${ns} get daemonset speaker -o wide; check that K3s runs on ${host}`,
  );
}

/**
 * Errors MetalLB logs for work it retries at once, whose outcome other checks judge: an update
 * that lost a race with another writer ("the object has been modified", retried by
 * controller-runtime: seen on every healthy install), and a Service whose reprocessing failed and
 * is queued again ("failed to handle service, retry", after which controller-runtime logs
 * "event handling failed, retrying"). Whether the Service then got its address and announcements
 * is what the service and route checks say.
 */
const retried = (l: MetallbLogLine): boolean =>
  l.error?.includes('the object has been modified') === true ||
  l.error === 'event handling failed, retrying' ||
  l.text.includes('"event":"failed to handle service, retry"');

/** MetalLB's CRDs present and established: without them no pool, peer or advertisement can exist. */
function crdCheck(c: ClusterFacts): Finding {
  const established = new Set(
    c.crds
      .filter((crd) => crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'))
      .map((crd) => crd.metadata.name),
  );
  const missing = METALLB_CRDS.filter((name) => !established.has(name));
  if (missing.length === 0)
    return ok('metallb', CLUSTER, 'CRDs established', [`${METALLB_CRDS.length} of ${METALLB_CRDS.length}`]);
  return fail(
    'metallb',
    CLUSTER,
    'CRDs established',
    missing.map(
      (name) => `${name}: ${c.crds.some((crd) => crd.metadata.name === name) ? 'not established' : 'missing'}`,
    ),
    "MetalLB's manifest was not applied (or K3s's deploy controller failed on it): no pool, peer or advertisement can be created",
    "journalctl -u k3s | grep -i manifest on the server shows the deploy controller's errors; reinstall: play site.yaml -i INVENTORY --role metallb-install",
  );
}

/**
 * The article's "kubectl logs" on the controller and the speakers, judged: errors logged in the
 * last minutes are shown (a warning), per node for speakers. Errors a pod logged before it was
 * Ready are its start-up (the webhook or the API not answering yet) and are left out while it
 * stays Ready; a pod not Ready has all its errors shown.
 */
function logChecks(intended: Intended, c: ClusterFacts): Finding[] {
  const check = `no errors logged in ${LOG_WINDOW_MINUTES} min`;
  if ('unreadable' in c.logs)
    return [
      warn(
        'metallb',
        CLUSTER,
        check,
        [c.logs.unreadable],
        "MetalLB's logs could not be read (kubectl logs goes through each node's kubelet, port 10250)",
        `k3s kubectl -n ${intended.namespace} logs -l app=metallb --prefix; check that the firewall lets the server reach 10250 on the nodes`,
      ),
    ];
  const lines = c.logs.lines;
  const nodeOf = new Map(c.pods.map((p) => [p.metadata.name, p.spec.nodeName ?? '?']));
  const readySince = new Map(
    c.pods.map((p) => {
      const ready = p.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
      return [p.metadata.name, ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : undefined];
    }),
  );
  const afterStartUp = (l: MetallbLogLine): boolean => {
    const since = readySince.get(l.pod);
    return since === undefined || l.at === undefined || Date.parse(l.at) >= since;
  };
  const judge = (host: string, component: string, pods: (line: MetallbLogLine) => boolean): Finding => {
    const errors = lines.filter((l) => pods(l) && l.level === 'error' && afterStartUp(l) && !retried(l));
    if (errors.length === 0)
      return ok('metallb', host, `${component}: ${check}`, [`${lines.filter(pods).length} lines read`]);
    return warn(
      'metallb',
      host,
      `${component}: ${check}`,
      [
        `${errors.length} error${errors.length === 1 ? '' : 's'}; the last:`,
        ...errors.slice(-3).map((l) => `${l.pod}: ${l.text.slice(0, 300)}`),
      ],
      `MetalLB's ${component} logged errors: ${[...new Set(errors.map((l) => l.msg ?? 'see the lines'))].slice(0, 3).join('; ')}`,
      `k3s kubectl -n ${intended.namespace} logs ${errors.at(-1)?.pod ?? ''} -c ${component} --since=${LOG_WINDOW_MINUTES}m`,
    );
  };
  return [
    judge(CLUSTER, 'controller', (l) => l.container === 'controller'),
    ...nodesOf(intended).map((host) =>
      judge(host, 'speaker', (l) => l.container === 'speaker' && nodeOf.get(l.pod) === host),
    ),
  ];
}
