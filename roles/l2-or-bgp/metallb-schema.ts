import type { JsonSchema } from 'vds-play/role';

/**
 * The project's own schema of the MetalLB objects it renders (metallb v0.16): field names, types
 * and ranges, checked before anything is sent. Stricter than the CRDs where MetalLB would only
 * fail later (BFD intervals, durations); a conformance test checks it agrees with the upstream CRDs.
 */
const name = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const duration = { type: 'string', pattern: '^(\\d+(\\.\\d+)?(ms|s|m|h))+$' };
const selectors = { type: 'array', items: { type: 'object' } };
const strings = { type: 'array', items: { type: 'string', minLength: 1 } };
const u32 = { type: 'integer', minimum: 0, maximum: 4294967295 };
const bfdInterval = { type: 'integer', minimum: 10, maximum: 60000 };

function object(
  apiVersion: string,
  kind: string,
  spec: JsonSchema,
  extra: Record<string, JsonSchema> = {},
): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', ...(Object.keys(extra).length ? [] : ['spec'])],
    properties: {
      apiVersion: { const: apiVersion },
      kind: { const: kind },
      metadata: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'namespace'],
        properties: { name, namespace: name, labels: { type: 'object', additionalProperties: { type: 'string' } } },
      },
      ...(Object.keys(extra).length ? extra : { spec: { type: 'object', additionalProperties: false, ...spec } }),
    },
  };
}

export const METALLB_SCHEMAS: Record<string, JsonSchema> = {
  IPAddressPool: object('metallb.io/v1beta1', 'IPAddressPool', {
    required: ['addresses'],
    properties: {
      addresses: { ...strings, minItems: 1 },
      autoAssign: { type: 'boolean' },
      avoidBuggyIPs: { type: 'boolean' },
    },
  }),
  L2Advertisement: object('metallb.io/v1beta1', 'L2Advertisement', {
    properties: { ipAddressPools: strings, interfaces: strings, nodeSelectors: selectors },
  }),
  BGPPeer: object('metallb.io/v1beta2', 'BGPPeer', {
    required: ['myASN', 'peerASN', 'peerAddress'],
    properties: {
      myASN: u32,
      peerASN: u32,
      peerAddress: { type: 'string', minLength: 2 },
      peerPort: { type: 'integer', minimum: 1, maximum: 16384 },
      sourceAddress: { type: 'string' },
      holdTime: duration,
      keepaliveTime: duration,
      connectTime: duration,
      ebgpMultiHop: { type: 'boolean' },
      passwordSecret: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name, namespace: name },
      },
      bfdProfile: name,
      routerID: { type: 'string' },
      nodeSelectors: selectors,
      enableGracefulRestart: { type: 'boolean' },
    },
  }),
  BFDProfile: object('metallb.io/v1beta1', 'BFDProfile', {
    properties: {
      receiveInterval: bfdInterval,
      transmitInterval: bfdInterval,
      echoInterval: bfdInterval,
      echoMode: { type: 'boolean' },
      passiveMode: { type: 'boolean' },
      minimumTtl: { type: 'integer', minimum: 1, maximum: 254 },
      detectMultiplier: { type: 'integer', minimum: 2, maximum: 255 },
    },
  }),
  BGPAdvertisement: object('metallb.io/v1beta1', 'BGPAdvertisement', {
    properties: {
      ipAddressPools: strings,
      aggregationLength: { type: 'integer', minimum: 1, maximum: 32 },
      aggregationLengthV6: { type: 'integer', minimum: 1, maximum: 128 },
      localPref: u32,
      communities: strings,
      peers: strings,
      nodeSelectors: selectors,
    },
  }),
  Secret: object(
    'v1',
    'Secret',
    {},
    {
      type: { const: 'kubernetes.io/basic-auth' },
      data: {
        type: 'object',
        additionalProperties: false,
        required: ['password'],
        properties: { password: { type: 'string', minLength: 1 } },
      },
    },
  ),
};
