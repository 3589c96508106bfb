import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTemplate, TemplateError } from '../../src/role/template.ts';
import { renderChange } from '../../src/output/diff.ts';
import { MASK, Redactor } from '../../src/output/redact.ts';
import { secretValues } from '../../src/role/variables-schema.ts';

const tpl = (name: string) => join(import.meta.dirname, '../fixtures/templates', name);

describe('templates', () => {
  const data = { port: 179, peers: [{ address: '192.0.2.11', asn: 65010 }], names: ['a', 'b'] };
  it('render variables, loops and helpers', () => {
    expect(renderTemplate(tpl('ok.hbs'), data)).toBe('port = 179\nneighbor 192.0.2.11 remote-as 65010\nnames = a, b\n');
  });
  it('a missing variable is an error naming the template, line and variable, not an empty string', () => {
    expect(() => renderTemplate(tpl('missing.hbs'), data, 'roles/x/templates/missing.hbs')).toThrow(TemplateError);
    expect(() => renderTemplate(tpl('missing.hbs'), data, 'roles/x/templates/missing.hbs')).toThrow(
      'template roles/x/templates/missing.hbs: line 5: variable "nosuch" is not defined',
    );
  });
  it('does not HTML-escape: these are config files', () => {
    expect(renderTemplate(tpl('ok.hbs'), { ...data, port: '<&>' })).toMatch(/^port = <&>/);
  });
});

describe('diff rendering', () => {
  it('text as a unified diff with context', () => {
    const out = renderChange({ type: 'content', path: '/etc/x.conf', before: 'a\nb\nc\n', after: 'a\nB\nc\n' });
    expect(out).toBe(
      ['--- /etc/x.conf (before)', '+++ /etc/x.conf (after)', '@@ -1,3 +1,3 @@', ' a', '-b', '+B', ' c'].join('\n'),
    );
  });
  it('a new file diffs against /dev/null', () => {
    expect(renderChange({ type: 'content', path: '/n', before: null, after: 'x\n' })).toMatch(
      /^--- \/dev\/null\n\+\+\+ \/n \(after\)\n@@ -0,0 \+1,1 @@\n\+x$/,
    );
  });
  it('values as before → after', () => {
    expect(renderChange({ type: 'value', what: 'mode', before: '0644', after: '0600' })).toBe('mode: 0644 → 0600');
    expect(renderChange({ type: 'value', what: 'mode', before: null, after: '0600' })).toBe('mode: (none) → 0600');
  });
});

describe('secret redaction', () => {
  const r = new Redactor(['hunter22', 'hunter2']);
  it('masks secrets anywhere in text, longest first', () => {
    expect(r.text('password hunter22 and hunter2')).toBe(`password ${MASK} and ${MASK}`);
  });
  it('masks the base64 form too, as Kubernetes Secrets carry it', () => {
    expect(r.text(`data: ${Buffer.from('hunter2').toString('base64')}`)).toBe(`data: ${MASK}`);
  });
  it('masks deep inside values (the JSON report)', () => {
    expect(r.deep({ a: ['x hunter2'], b: { c: 'hunter2' }, n: 1 })).toEqual({ a: [`x ${MASK}`], b: { c: MASK }, n: 1 });
  });
  it('masks an old secret in a file diff by the line it sits on, and still shows that it changed', () => {
    const c = r.change({
      type: 'content',
      path: '/etc/frr/frr.conf',
      before: 'neighbor 1 password OLDSECRET\nx\n',
      after: 'neighbor 1 password hunter2\nx\n',
    });
    const text = renderChange(c);
    expect(text).not.toMatch(/OLDSECRET|hunter2/);
    expect(text).toMatch(/-neighbor 1 password \*{8} \(old secret\)\n\+neighbor 1 password \*{8}/);
  });
  it.each([
    ['escaped in JSON (the --json report, kubectl output)', 'to"k\\en\\x', (v: string) => JSON.stringify({ token: v })],
    ['in YAML single quotes', "it's-a-secret", (v: string) => `token: '${v.replace(/'/g, "''")}'`],
    ['URL-encoded (a datastore endpoint)', 'p@ss/w:rd?x', (v: string) => `mysql://u:${encodeURIComponent(v)}@db/k3s`],
    [
      'multi-line, cut into the lines of a diff',
      'line-one-of-it\nline-two-of-it',
      (v: string) =>
        v
          .split('\n')
          .map((l) => `+ ${l}`)
          .join('\n'),
    ],
    ['base64', 'plain-secret-value', (v: string) => `password: ${Buffer.from(v).toString('base64')}`],
  ])('masks a secret %s', (_how, secret, render) => {
    const shown = new Redactor([secret]).text(render(secret));
    for (const piece of [secret, ...secret.split('\n')]) expect(shown).not.toContain(piece);
    expect(shown).toContain(MASK);
  });
  it('masks an old secret whose line changed elsewhere too, and one whose line or file was removed', () => {
    const moved = renderChange(
      r.change({
        type: 'content',
        path: '/f',
        before: 'neighbor 10.0.0.1 password OLDSECRET-1\n',
        after: 'neighbor 10.0.0.2 password hunter22\n',
      }),
    );
    expect(moved).not.toContain('OLDSECRET-1');
    expect(moved).toMatch(/-neighbor 10\.0\.0\.1 password \*{8} \(old secret\)/);
    const removed = renderChange(
      r.change({
        type: 'content',
        path: '/f',
        before: 'a\n token: "OLDTOKEN-123"\n# the password is kept elsewhere\n',
        after: 'a\n',
      }),
    );
    expect(removed).not.toContain('OLDTOKEN-123');
    expect(removed).toMatch(/- token: "\*{8} \(old secret\)/);
    expect(removed).toContain('-# the password is kept elsewhere');
    const gone = renderChange(r.change({ type: 'content', path: '/f', before: 'password OLDSECRET-2\n', after: null }));
    expect(gone).not.toContain('OLDSECRET-2');
  });
  it('finds secret values from a role schema, however deep', () => {
    const schema = {
      type: 'object',
      properties: {
        token: { type: 'string', secret: true },
        peers: {
          type: 'array',
          items: {
            type: 'object',
            properties: { password: { type: 'string', secret: true }, address: { type: 'string' } },
          },
        },
      },
    };
    const values = {
      token: 'T0K',
      peers: [{ password: 'p1', address: '10.0.0.1' }, { address: '10.0.0.2' }],
      other: 'x',
    };
    expect(secretValues(schema, values).sort()).toEqual(['T0K', 'p1']);
  });
});
