/**
 * What Ansible makes of a plain (unquoted) scalar: it reads YAML with PyYAML, which follows YAML
 * 1.1, where play's parser follows YAML 1.2. The resolvers below are PyYAML's
 * (yaml/resolver.py). Where the two differ, a value takes Ansible's meaning (`yes` is true, `1_000`
 * is 1000, `1e3` is text); where Ansible's meaning is one a reader rarely intends (`010` is 8,
 * `1:30` is 90), the value is refused, so the user writes what they mean.
 */

const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const BINARY = /^[-+]?0b[0-1_]+$/;
const OCTAL = /^[-+]?0[0-7_]+$/;
const DECIMAL = /^[-+]?(?:0|[1-9][0-9_]*)$/;
const HEX = /^[-+]?0x[0-9a-fA-F_]+$/;
const SEXAGESIMAL_INT = /^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$/;
const FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?)$/;
const SEXAGESIMAL_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/;
const INF = /^[-+]?\.(?:inf|Inf|INF)$/;
const NAN = /^\.(?:nan|NaN|NAN)$/;

export type Yaml11 = { value: unknown } | { refused: string };

/** Ansible's value for the plain scalar `text`, or why play will not guess. */
export function yaml11(text: string): Yaml11 {
  const digits = text.replace(/_/g, '');
  const sign = digits.startsWith('-') ? -1 : 1;
  const unsigned = digits.replace(/^[-+]/, '');
  if (BOOL.test(text)) return { value: /^(?:yes|true|on)$/i.test(text) };
  if (NULL.test(text)) return { value: null };
  if (BINARY.test(text)) return { value: sign * parseInt(unsigned.slice(2), 2) };
  if (HEX.test(text)) return { value: sign * parseInt(unsigned.slice(2), 16) };
  // The messages never repeat the value: it may be a secret written without quotes.
  if (OCTAL.test(text))
    return {
      refused:
        'a number with a leading 0 is octal in YAML 1.1, which Ansible reads (010 is 8): write it without the 0, or its octal value in decimal, or quote it for the text',
    };
  if (DECIMAL.test(text)) return { value: Number(digits) };
  if (SEXAGESIMAL_INT.test(text) || SEXAGESIMAL_FLOAT.test(text))
    return {
      refused:
        'numbers joined by colons are one number in base 60 in YAML 1.1, which Ansible reads (1:30 is 90): write the number, or quote it for the text',
    };
  if (FLOAT.test(text)) return { value: Number(digits) };
  if (INF.test(text)) return { value: sign * Infinity };
  if (NAN.test(text)) return { value: NaN };
  return { value: text };
}
