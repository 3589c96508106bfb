import { spawn } from 'node:child_process';
import type { ExecOptions, ExecResult, Remote } from '../../src/transport/remote.ts';

/** A real /bin/sh on this machine, run in `cwd` with `env` (default: this process's). */
export function shellIn(host: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Remote {
  return {
    host,
    exec(command: string, exec: ExecOptions = {}): Promise<ExecResult> {
      return new Promise((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', command], {
          stdio: ['pipe', 'pipe', 'pipe'],
          cwd: options.cwd,
          env: options.env,
        });
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
        child.stdin.end(exec.stdin ?? '');
      });
    },
  };
}

/** A real shell on this machine: for testing resources' shell code on temp files, not roles. */
export const localShell: Remote = shellIn('localhost');
