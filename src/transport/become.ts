import { randomBytes } from 'node:crypto';
import type { PasswordGate } from './remote.ts';
import { q } from './shell.ts';

export type BecomeMethod = 'sudo' | 'su';

/** How a host's commands change user: Ansible's become settings, resolved for one host and play. */
export interface Become {
  become: boolean;
  /** Who logs in. */
  user: string;
  becomeUser: string;
  method: BecomeMethod;
  /** ansible_become_password or -K; without it sudo must not ask (sudo -n) and su is refused. */
  password?: string;
}

/**
 * Marks no output contains: a random word per run. The prompt is sudo's own (-p), so a password
 * is written only in answer to sudo; the ready mark is printed by the command once sudo or su has
 * let it run, and only then does the command's stdin follow.
 */
const NONCE = randomBytes(9).toString('base64url');
const SUDO_PROMPT = `[play become ${NONCE}] password:`;
const READY = `play-become-ready-${NONCE}`;
/** pam_unix's prompt with LC_ALL=C, as su prints it. */
const SU_PROMPT = 'Password:';

const REFUSED = 'the become password was refused (ansible_become_password or -K)';

/**
 * A command as the host runs it under `become`, and the password exchange it needs. Without a
 * password sudo runs with -n, so a missing sudo rule fails at once with sudo's own message instead
 * of hanging on a prompt.
 */
export function becomeCommand(command: string, b: Become): { command: string; gate?: PasswordGate } {
  if (!b.become || b.user === b.becomeUser) return { command };
  const ready = `printf '%s\\n' ${READY} >&2; ${command}`;
  if (b.method === 'su') {
    // su reads the password where sudo -S does (stdin, not a terminal), in the language of
    // LC_ALL, set to C for its prompt only.
    return {
      command: `LC_ALL=C su ${q(b.becomeUser)} -c ${q(`unset LC_ALL; exec /bin/sh -c ${q(ready)}`)}`,
      gate: { prompt: SU_PROMPT, password: b.password ?? '', ready: READY, refused: REFUSED },
    };
  }
  if (b.password === undefined) return { command: `sudo -n -H -u ${q(b.becomeUser)} -- /bin/sh -c ${q(command)}` };
  return {
    command: `sudo -S -p ${q(SUDO_PROMPT)} -H -u ${q(b.becomeUser)} -- /bin/sh -c ${q(ready)}`,
    gate: { prompt: SUDO_PROMPT, password: b.password, ready: READY, refused: REFUSED },
  };
}

/**
 * The password exchange on one command's stderr, step by step: what to write to its stdin as
 * stderr grows, and its stderr as the command's own once it ended. The password answers the
 * first prompt; a second prompt means it was refused, and stdin is closed so sudo gives up
 * instead of waiting.
 */
export class PasswordExchange {
  private answered = false;
  private refused = false;
  private opened = false;

  constructor(private readonly gate: PasswordGate) {}

  /** The password was answered and the command runs, or it was refused: stderr needs no more watching. */
  get settled(): boolean {
    return this.opened || this.refused;
  }

  /** What to do now that stderr (after play's own first line) reads `text`. */
  step(text: string): 'answer' | 'open' | 'give-up' | 'wait' {
    if (this.settled) return 'wait';
    if (text.includes(`${this.gate.ready}\n`)) {
      this.opened = true;
      return 'open';
    }
    const prompts = text.split(this.gate.prompt).length - 1;
    if (prompts === 0) return 'wait';
    if (!this.answered) {
      this.answered = true;
      return 'answer';
    }
    if (prompts > 1) {
      this.refused = true;
      return 'give-up';
    }
    return 'wait';
  }

  /** The command's stderr: after the ready mark; without it, sudo's or su's words, prompts left out. */
  stderr(text: string): string {
    const at = text.indexOf(`${this.gate.ready}\n`);
    if (at >= 0) return text.slice(at + this.gate.ready.length + 1);
    const said = text
      .split('\n')
      .map((line) => line.split(this.gate.prompt).join('').trim())
      .filter(Boolean)
      .map((line) => `${line}\n`)
      .join('');
    return this.refused || /authentication failure|incorrect password/i.test(said)
      ? `${this.gate.refused}\n${said}`
      : said;
  }
}
