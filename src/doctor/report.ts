import { writeReportFile } from '../output/json-report.ts';
import type { Redactor } from '../output/redact.ts';
import { AREAS, CLUSTER, type Finding, type Verdict } from './findings.ts';
import { paint as paintAs } from '../output/colour.ts';

export interface DoctorSummary {
  ok: number;
  warn: number;
  fail: number;
}

export const summarize = (findings: Finding[]): DoctorSummary => ({
  ok: findings.filter((f) => f.verdict === 'ok').length,
  warn: findings.filter((f) => f.verdict === 'warn').length,
  fail: findings.filter((f) => f.verdict === 'fail').length,
});

const LABEL: Record<Verdict, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL' };

/**
 * The human report: hosts in inventory order (the cluster's objects first), areas in a fixed
 * order, one line per check; warnings and failures add their evidence, cause and fix. With
 * verbose, passing checks show their evidence too.
 */
export function renderReport(findings: Finding[], hosts: string[], verbose: boolean, color: boolean): string {
  const paint = (v: Verdict, s: string): string =>
    paintAs(color, v === 'ok' ? 'green' : v === 'warn' ? 'yellow' : 'red', s);
  const order = [
    CLUSTER,
    ...hosts,
    ...new Set(findings.map((f) => f.host).filter((h) => h !== CLUSTER && !hosts.includes(h))),
  ];
  const lines: string[] = [];
  const width = Math.min(60, Math.max(...findings.map((f) => f.check.length), 10));
  for (const host of order) {
    const mine = findings.filter((f) => f.host === host).sort((a, b) => AREAS.indexOf(a.area) - AREAS.indexOf(b.area));
    if (mine.length === 0) continue;
    lines.push(host === CLUSTER ? 'cluster' : host);
    for (const f of mine) {
      lines.push(
        `  ${f.area.padEnd(8)} ${f.check.padEnd(width)} ${paint(f.verdict, LABEL[f.verdict])}${f.verdict === 'ok' && f.evidence[0] && !verbose ? `  ${f.evidence[0]}` : ''}`,
      );
      if (f.verdict !== 'ok' || verbose) {
        for (const e of f.evidence.flatMap((x) => x.split('\n'))) lines.push(`      | ${e}`);
      }
      if (f.cause) lines.push(`      cause: ${f.cause}`);
      if (f.fix) lines.push(`      fix:   ${f.fix}`);
    }
  }
  const s = summarize(findings);
  lines.push(
    '',
    `DOCTOR  ${paint('ok', `ok=${s.ok}`)} ${paint('warn', `warn=${s.warn}`)} ${paint('fail', `fail=${s.fail}`)}`,
  );
  return lines.join('\n');
}

/** The same facts as JSON, written whole or not at all, secrets masked. */
export function writeDoctorJson(
  file: string,
  findings: Finding[],
  info: { inventory: string; exitCode: number },
  redactor: Redactor,
): void {
  writeReportFile(file, redactor.deep({ ...info, summary: summarize(findings), findings }));
}
