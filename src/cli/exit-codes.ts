/**
 * As ansible-playbook where it has a code (0, 2, 4, 99); play adds distinct codes for bad usage
 * and invalid input, which ansible-playbook folds together.
 */
export const EXIT = {
  ok: 0,
  /** A bug or an unexpected error in play itself. */
  internal: 1,
  hostFailed: 2,
  hostUnreachable: 4,
  /** Bad command line: unknown option, missing argument, playbook or inventory not found. */
  usage: 5,
  /** Invalid input: YAML, schemas, variables, templates, unknown role/tag/host/group. */
  invalidInput: 6,
  /** Ctrl-C: stopped cleanly, recap printed. */
  interrupted: 99,
} as const;
