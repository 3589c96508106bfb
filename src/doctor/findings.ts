/** What `play doctor` says about one thing it checked. */
export type Verdict = 'ok' | 'warn' | 'fail';

/** Areas in the order the report shows them. */
export const AREAS = ['node', 'drift', 'metallb', 'service', 'bgp', 'layer2'] as const;
export type Area = (typeof AREAS)[number];

export interface Finding {
  area: Area;
  /** The host the finding is about; `cluster` for cluster-wide objects. */
  host: string;
  check: string;
  verdict: Verdict;
  /** What was read that shows it: command output, trimmed to what matters. */
  evidence: string[];
  /** For a warning or a failure: the likely cause and the fix, in the article's terms. */
  cause?: string;
  fix?: string;
}

export const CLUSTER = 'cluster';

export const ok = (area: Area, host: string, check: string, evidence: string[] = []): Finding => ({
  area,
  host,
  check,
  verdict: 'ok',
  evidence,
});
const judged =
  (verdict: 'warn' | 'fail') =>
  (area: Area, host: string, check: string, evidence: string[], cause: string, fix: string): Finding => ({
    area,
    host,
    check,
    verdict,
    evidence,
    cause,
    fix,
  });
export const warn = judged('warn');
export const fail = judged('fail');

/** Findings about one host in one area: `at.fail(check, evidence, cause, fix)`. */
export function findingsOn(area: Area, host: string) {
  return {
    ok: (check: string, evidence: string[] = []) => ok(area, host, check, evidence),
    warn: (check: string, evidence: string[], cause: string, fix: string) =>
      warn(area, host, check, evidence, cause, fix),
    fail: (check: string, evidence: string[], cause: string, fix: string) =>
      fail(area, host, check, evidence, cause, fix),
  };
}
