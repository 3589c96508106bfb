import { $ } from 'zx';
import { sshConfigPath, type LabNames } from './paths.ts';

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a shell command on a lab host over real SSH, from inside the controller namespace. */
export async function labSsh(
  names: LabNames,
  host: string,
  command: string,
  timeoutMs = 30_000,
): Promise<CommandResult> {
  const out = await $({
    quiet: true,
    nothrow: true,
    timeout: timeoutMs,
  })`ip netns exec ${names.controller} ssh -F ${sshConfigPath(names)} ${host} ${command}`;
  return { exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr };
}
