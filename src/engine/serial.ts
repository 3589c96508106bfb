import type { BatchSize } from '../playbook/model.ts';

/** Splits a play's hosts into `serial` batches: counts or percentages, the last size repeating. */
export function batches(hosts: readonly string[], serial: readonly BatchSize[]): string[][] {
  if (serial.length === 0 || hosts.length === 0) return hosts.length ? [[...hosts]] : [];
  const out: string[][] = [];
  let at = 0;
  let i = 0;
  while (at < hosts.length) {
    const size = batchSize(serial[Math.min(i, serial.length - 1)] ?? hosts.length, hosts.length);
    out.push(hosts.slice(at, at + size));
    at += size;
    i++;
  }
  return out;
}

function batchSize(size: BatchSize, total: number): number {
  if (typeof size === 'number') return Math.max(1, size);
  // Ansible rounds percentages down but never below one host.
  return Math.max(1, Math.floor((total * parseFloat(size)) / 100));
}
