import type { SourceLocation } from '../input/errors.ts';
import type { VarLayer } from '../inventory/variables.ts';

export interface RoleRef {
  name: string;
  /** Tags given where the play lists the role; added to every task of the role. */
  tags: string[];
  /** Role parameters: above play vars, below `-e`. */
  vars?: VarLayer;
  location: SourceLocation;
}

/** A batch size: a host count, or a percentage of the play's hosts. */
export type BatchSize = number | `${number}%`;

export interface Play {
  name: string;
  /** A host pattern, or a list of them (a union, in order). */
  hosts: string | string[];
  roles: RoleRef[];
  vars?: VarLayer;
  /** Batch sizes in order; the last repeats. Empty: all hosts in one batch. */
  serial: BatchSize[];
  become?: boolean;
  tags: string[];
  anyErrorsFatal: boolean;
  maxFailPercentage?: number;
  location: SourceLocation;
}

export interface Playbook {
  file: string;
  /** Directory roles are looked up from (`roles/` beside the playbook, or beside its folder). */
  dir: string;
  plays: Play[];
}
