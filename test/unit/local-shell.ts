import { spawn } from 'node:child_process';
import type { ExecOptions, ExecResult, Remote } from '../../src/transport/remote.ts';

/** A real shell on this machine: for testing resources' shell code on temp files, not roles. */
export const localShell: Remote = {
  host: 'localhost',
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', reject);
      child.on('close', (code) =>
        resolve({
          exitCode: code ?? 255,
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
        }),
      );
      // A command that exits without reading its input closes the pipe first (EPIPE): that is fine.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.stdin ?? '');
    });
  },
};
