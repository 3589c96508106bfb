import { describe, expect, it, vi } from 'vitest';
import { EXIT, PlayError } from '../../src/errors.ts';
import { InputError, UsageError } from '../../src/input/errors.ts';
import { PatternError } from '../../src/inventory/patterns.ts';
import { ResourceError } from '../../src/resources/types.ts';
import { FromHost } from '../../src/role/definition.ts';
import { TemplateError } from '../../src/role/template.ts';
import { CommandTimeoutError, InterruptedError, UnreachableError } from '../../src/transport/remote.ts';

describe('one error hierarchy', () => {
  it('every error play raises carries its kind and the exit code a run ending on it returns', () => {
    const cases: [PlayError, string, number][] = [
      [new UsageError('x'), 'usage', EXIT.usage],
      [InputError.at({ file: 'f.yaml', line: 2 }, 'bad'), 'input', EXIT.invalidInput],
      [new PatternError('p'), 'pattern', EXIT.invalidInput],
      [new TemplateError('t.hbs', 'm'), 'template', EXIT.invalidInput],
      [new ResourceError('r'), 'resource', EXIT.hostFailed],
      [new CommandTimeoutError('h', 5), 'timeout', EXIT.hostFailed],
      [new UnreachableError('h', 'u'), 'unreachable', EXIT.hostUnreachable],
      [new InterruptedError('h'), 'interrupted', EXIT.interrupted],
    ];
    for (const [e, kind, code] of cases) {
      expect([e instanceof PlayError, e.kind, e.exitCode]).toEqual([true, kind, code]);
      expect(e).toBeInstanceOf(Error);
    }
    expect(new ResourceError('r') instanceof InputError).toBe(false);
    expect(new Error('bug') instanceof PlayError).toBe(false);
  });

  it("recognised by brand: errors and FromHost values from another copy of play's modules (a role compiled on its own) are still play's", async () => {
    vi.resetModules();
    const other = {
      input: (await import('../../src/input/errors.ts')) as typeof import('../../src/input/errors.ts'),
      remote: (await import('../../src/transport/remote.ts')) as typeof import('../../src/transport/remote.ts'),
      definition: (await import('../../src/role/definition.ts')) as typeof import('../../src/role/definition.ts'),
    };
    expect(other.input.InputError).not.toBe(InputError);
    const foreign = other.input.InputError.at({ file: 'f.yaml' }, 'bad');
    expect(foreign instanceof InputError).toBe(true);
    expect(foreign instanceof PlayError).toBe(true);
    expect(foreign instanceof UsageError).toBe(false);
    expect(new other.remote.UnreachableError('h', 'gone') instanceof UnreachableError).toBe(true);
    expect(new other.definition.FromHost('cp1', 'cat token', true) instanceof FromHost).toBe(true);
    expect({ host: 'cp1' } instanceof FromHost).toBe(false);
  });
});
