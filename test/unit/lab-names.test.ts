import { describe, expect, it } from 'vitest';
import { hostNamespace, labNames, projectRoot } from '../lab/paths.ts';

describe('lab names', () => {
  it('gives the default lab .lab and inventory/lab, and other labs their own', () => {
    expect(labNames()).toMatchObject({
      lab: 'lab',
      dir: `${projectRoot}.lab`,
      controller: 'plab-lab',
      inventoryDir: `${projectRoot}inventory/lab`,
    });
    expect(labNames('test')).toMatchObject({
      dir: `${projectRoot}.lab-test`,
      controller: 'plab-test',
      inventoryDir: `${projectRoot}inventory/lab-test`,
    });
  });

  it('keeps one lab from matching another: host namespaces end the prefix with a dot', () => {
    expect(hostNamespace(labNames('lab'), 'cp1')).toBe('plab-lab.cp1');
    expect(hostNamespace(labNames('lab-x'), 'cp1').startsWith(labNames('lab').hostPrefix)).toBe(false);
  });

  it.each(['', 'Lab', '1lab', 'a.b', 'much-too-long-name'])('refuses %j with what is expected', (bad) => {
    expect(() => labNames(bad)).toThrow(
      `lab name ${JSON.stringify(bad)}: expected 1-12 characters of [a-z0-9-], starting with a letter`,
    );
  });
});
