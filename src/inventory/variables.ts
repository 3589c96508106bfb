import type { SourceLocation } from '../input/errors.ts';

export type Vars = Record<string, unknown>;

/**
 * One level of variable precedence: the values one source gives, and how to point at the line
 * that set each of them (so a bad value is reported where the user wrote it).
 */
export interface VarLayer {
  /** What set these values, e.g. `inventory/prod/group_vars/all.yaml` or `-e`. */
  label: string;
  values: Vars;
  locate(path: readonly (string | number)[]): SourceLocation;
}

export interface ResolvedVar {
  value: unknown;
  layer: VarLayer;
}

/** Top-level keys replace each other (Ansible's default `hash_behaviour=replace`); later layers win. */
export function mergeLayers(layers: readonly VarLayer[]): Map<string, ResolvedVar> {
  const merged = new Map<string, ResolvedVar>();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) merged.set(key, { value, layer });
  }
  return merged;
}

export function valuesOf(resolved: Map<string, ResolvedVar>): Vars {
  return Object.fromEntries([...resolved].map(([k, v]) => [k, v.value]));
}

/** Locates a key path inside merged variables: the first key names the variable, hence the layer. */
export function locateVar(resolved: Map<string, ResolvedVar>, path: readonly (string | number)[]): SourceLocation {
  const head = path[0];
  const found = typeof head === 'string' ? resolved.get(head) : undefined;
  return found ? found.layer.locate(path) : { file: '(variables)' };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
