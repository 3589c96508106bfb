import type { TaskResult } from '../engine/events.ts';
import { renderChange } from '../output/diff.ts';
import type { Redactor } from '../output/redact.ts';
import { fail, type Finding } from './findings.ts';

/**
 * Drift: what site.yaml's roles, run in check mode, would change. A task that would change is a
 * host that differs from what play makes it (config.yaml, kube-proxy's mode, a sysctl, the
 * firewall, MetalLB's objects, the edge's frr.conf), shown as the diff play would apply.
 */
export function driftFindings(results: TaskResult[], redactor: Redactor): Finding[] {
  const out: Finding[] = [];
  for (const r of results) {
    const check = `${r.role}: ${r.task}`;
    const rerun = `play site.yaml -i INVENTORY --role ${r.role} --limit ${r.host} (preview it with --check --diff)`;
    if (r.status === 'changed') {
      const evidence = r.changes.map((c) => redactor.text(renderChange(redactor.change(c))));
      out.push(
        fail(
          'drift',
          r.host,
          check,
          evidence.length ? evidence : [r.message ?? 'would change'],
          `${r.host} differs from what play makes it (changed by hand, or play's run did not finish)`,
          rerun,
        ),
      );
    } else if (r.status === 'unreachable') {
      if (!out.some((f) => f.host === r.host && f.check === 'reachable over SSH')) {
        out.push(
          fail(
            'node',
            r.host,
            'reachable over SSH',
            [redactor.text(r.message ?? 'unreachable')],
            'play cannot log in to the host (down, network, SSH key or host key)',
            `ssh to it as the inventory says (ansible_host, ansible_user, key); then rerun play doctor`,
          ),
        );
      }
    } else if (r.status === 'failed') {
      out.push(
        fail(
          'drift',
          r.host,
          check,
          [redactor.text(r.message ?? 'failed'), ...(r.detail ? [redactor.text(r.detail)] : [])],
          "the role's check-mode reading failed",
          rerun,
        ),
      );
    }
  }
  return out;
}
