import type { CompiledRun } from '../engine/compile.ts';
import { EXIT } from '../errors.ts';
import type { Reporter, TaskResult } from '../engine/events.ts';
import { runPlaybook, type Connection } from '../engine/run.ts';
import { UsageError } from '../input/errors.ts';
import { hostsOfGroup, type Inventory } from '../inventory/model.ts';
import { wantsColour } from '../output/colour.ts';
import type { Redactor } from '../output/redact.ts';
import type { Remote } from '../transport/remote.ts';
import type { EarlyConnections } from '../transport/early-connections.ts';
import { connector } from '../engine/connector.ts';
import { bgpChecks } from './checks/bgp.ts';
import { layer2Checks } from './checks/layer2.ts';
import { metallbChecks } from './checks/metallb.ts';
import { nodeChecks } from './checks/nodes.ts';
import { serviceChecks } from './checks/services.ts';
import { servicePortChecks } from './checks/service-ports.ts';
import { driftFindings } from './drift.ts';
import type { Facts } from './facts.ts';
import { CLUSTER, fail, type Finding } from './findings.ts';
import { gatherFacts } from './gather.ts';
import { intendedState, nodesOf, type Intended } from './intended.ts';
import { renderReport, writeDoctorJson } from './report.ts';

/** play doctor's exit codes beside play's own (documented in `play doctor --help`). */
export interface DoctorOptions {
  inventoryPath: string;
  /** The inventory as the user named it (`-i prod`): the fixes say it in place of INVENTORY. */
  inventoryArg: string;
  json?: string;
  verbose: boolean;
  acceptNewHostKeys: boolean;
  become: boolean;
  forks?: number;
}

/**
 * Runs site.yaml's roles in check mode on the selected hosts (drift: `compiled`), reads the live
 * state of those hosts and of the cluster, judges both against the intended state (`whole`: the
 * run compiled without --limit), and reports. Nothing on a host changes:
 * check mode writes nothing, and the readings are read-only commands.
 */
export async function doctor(
  compiled: CompiledRun,
  whole: CompiledRun,
  inv: Inventory,
  o: DoctorOptions,
  redactor: Redactor,
  /** A secret read from a host (the K3s token): masked from here on, and kept out of every cache. */
  learned: (secret: string) => void,
  write: (s: string) => void,
  early: EarlyConnections,
): Promise<number> {
  const intended = intendedState(whole, inv);
  if (!intended) throw new UsageError('play doctor needs a cluster to check: the inventory has no k3s_server host');
  const selected = new Set(compiled.plays.flatMap((p) => p.hosts));
  const hosts = connector(compiled, {
    acceptNewHostKeys: o.acceptNewHostKeys,
    become: o.become,
    early,
    signal: new AbortController().signal,
  });
  process.stderr.write(`doctor: site.yaml in check mode on ${selected.size} hosts, then the live cluster\n`);

  const results: TaskResult[] = [];
  const quiet: Reporter = { event: (e) => void (e.type === 'task' && results.push(e.result)), finish: () => undefined };
  await runPlaybook(compiled, {
    check: true,
    forks: o.forks ?? Math.min(64, Math.max(1, selected.size)),
    reporter: quiet,
    interrupted: () => false,
    cut: () => false,
    startedAt: Date.now(),
    secretLearned: learned,
    connect: hosts.connect,
    forPlay: hosts.forPlay,
    runsAs: hosts.runsAs,
  });

  const live: Intended = {
    ...intended,
    servers: intended.servers,
    agents: intended.agents.filter((h) => selected.has(h)),
    edges: intended.edges.filter((h) => selected.has(h)),
  };
  const open = new Map<string, Promise<Connection>>();
  const remote = async (host: string): Promise<Remote> => {
    let c = open.get(host);
    if (!c) open.set(host, (c = hosts.connect(host)));
    return hosts.forPlay(await c);
  };
  // ARP is asked from a host on the nodes' segment that is not a node: the edge, else any other.
  const arpFrom =
    intended.mode === 'layer2'
      ? [...hostsOfGroup(inv, 'edge'), ...inv.hosts.keys()].find((h) => !nodesOf(intended).includes(h))
      : undefined;
  let facts: Facts;
  try {
    facts = await gatherFacts(live, remote, arpFrom);
  } finally {
    for (const c of open.values()) (await c.catch(() => undefined))?.close();
  }

  const findings = judge(live, facts, driftFindings(results, redactor), selected).map((f) =>
    f.fix ? { ...f, fix: f.fix.replaceAll('INVENTORY', o.inventoryArg) } : f,
  );
  const unreachable = findings.some((f) => f.check === 'reachable over SSH');
  const code = unreachable
    ? EXIT.hostUnreachable
    : findings.some((f) => f.verdict === 'fail')
      ? EXIT.checkFailed
      : EXIT.ok;
  write(redactor.text(renderReport(findings, [...inv.hosts.keys()], o.verbose, wantsColour(process.stdout))));
  if (o.json) writeDoctorJson(o.json, findings, { inventory: o.inventoryPath, exitCode: code }, redactor);
  return code;
}

/** All checks on what was read; per-host findings only for the selected hosts. */
export function judge(intended: Intended, facts: Facts, drift: Finding[], selected: Set<string>): Finding[] {
  const findings: Finding[] = [...drift];
  for (const [host, why] of Object.entries(facts.unreachable)) {
    if (!findings.some((f) => f.host === host && f.check === 'reachable over SSH'))
      findings.push(
        fail(
          'node',
          host,
          'reachable over SSH',
          [why],
          'play cannot log in to the host (down, network, SSH key or host key)',
          'ssh to it as the inventory says, then rerun play doctor',
        ),
      );
  }
  findings.push(...nodeChecks(intended, facts));
  if (facts.clusterError !== undefined) {
    findings.push(
      fail(
        'metallb',
        CLUSTER,
        'cluster readable',
        [facts.clusterError],
        `kubectl on ${intended.servers[0] ?? 'the first server'} failed: the API server is down, or MetalLB's CRDs are missing`,
        'check k3s on the first server; rerun: play site.yaml -i INVENTORY',
      ),
    );
  }
  if (facts.cluster) {
    findings.push(
      ...metallbChecks(intended, facts.cluster),
      ...serviceChecks(intended, facts.cluster),
      ...servicePortChecks(intended, facts.cluster, facts.nodes),
    );
    if (intended.mode === 'layer2') findings.push(...layer2Checks(intended, facts.cluster, facts.nodes, facts.arp));
  }
  if (intended.mode === 'bgp') findings.push(...bgpChecks(intended, facts.edges, facts.cluster, facts.nodes));
  return findings.filter((f) => f.host === CLUSTER || selected.has(f.host) || f.area === 'layer2');
}
