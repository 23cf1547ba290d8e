/**
 * The direct path (src/ecs/goflow2-direct.ts) against the step-by-step pipeline: for every line,
 * the documents' JSON text must be identical, byte for byte, whichever path wrote them. Lines are
 * GoFlow2's own (the integration's fixture and GoFlow2's default format) and fast-check mutations
 * of them (fixed seed): members removed, reordered, duplicated or added, values replaced by every
 * kind of JSON and near-JSON the path must take or refuse, whitespace, concatenation, truncation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Goflow2Normalizer, type Goflow2NormalizerOptions, type LineMeta } from '../../src/ecs/goflow2.ts';

const FIXTURE_LINES = readFileSync(
  new URL('../../fixtures/goflow2/pipeline/test-goflow2-sflow-sample.log', import.meta.url),
  'utf8',
)
  .split('\n')
  .filter((l) => l !== '');
/** GoFlow2 v2's default JSON format: every key it writes for an sFlow sample. */
const DEFAULT_LINE =
  '{"type":"SFLOW_5","time_received_ns":1709065920620635488,"sequence_num":47142,"sampling_rate":1024,"sampler_address":"10.10.26.5","time_flow_start_ns":1709065920620635488,"time_flow_end_ns":1709065920620635488,"bytes":1518,"packets":1,"src_addr":"10.10.11.38","dst_addr":"10.10.11.54","etype":"IPv4","proto":"TCP","src_port":16443,"dst_port":57444,"in_if":0,"out_if":5031,"src_mac":"3c:ec:ef:fc:f7:38","dst_mac":"00:16:3e:c9:e3:eb","src_vlan":0,"dst_vlan":0,"vlan_id":0,"ip_tos":0,"forwarding_status":0,"ip_ttl":64,"ip_flags":2,"tcp_flags":16,"icmp_type":0,"icmp_code":0,"ipv6_flow_label":0,"fragment_id":25350,"fragment_offset":0,"src_as":0,"dst_as":0,"next_hop":"","next_hop_as":0,"src_net":"0.0.0.0/0","dst_net":"0.0.0.0/0","bgp_next_hop":"","bgp_communities":[],"as_path":[],"mpls_ttl":[],"mpls_label":[],"mpls_ip":[],"observation_domain_id":0,"observation_point_id":0,"layer_stack":["Ethernet","IPv4","TCP"],"layer_size":[14,20,20],"ipv6_routing_header_addresses":[],"ipv6_routing_header_seg_left":0}';
const BASE_LINES = [...FIXTURE_LINES, DEFAULT_LINE];

/** Value texts a member can be given: what the direct path takes, and what it must leave alone. */
const VALUES = [
  'null',
  '""',
  '"x"',
  '"IPv6"',
  '"UDP"',
  '"10.0.0.1"',
  '"2001:db8::1"',
  '"::ffff:10.0.0.1"',
  '"fe80::1%eth0"',
  '"10.0.0.1%eth0"',
  '"010.0.0.1"',
  '"not an ip"',
  '"a b"',
  '"é"',
  '"😀"',
  '"\ud800"', // a lone surrogate, as the character itself
  '"a\u0001b"', // a raw control character: invalid JSON
  '"a\\"b"',
  '"\\u0041"',
  '0',
  '1',
  '-1',
  '-0',
  '01',
  '1.5',
  '1.0',
  '1e3',
  '2147483648',
  '9007199254740993',
  '1709065920620635488',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '99999999999999999999999',
  'true',
  'false',
  '[]',
  '[1,2]',
  '["a","B"]',
  '["10.0.0.1"]',
  '[null]',
  '[[]]',
  '{}',
  '{"a":1}',
  'nul',
  '',
];
const KEYS = [
  'type',
  'time_flow_start_ns',
  'sampling_rate',
  'bytes',
  'sampler_address',
  'sequence_num',
  'in_if',
  'out_if',
  'src_addr',
  'dst_addr',
  'etype',
  'proto',
  'src_port',
  'dst_port',
  'src_vlan',
  'dst_vlan',
  'flow_size',
  '__proto__',
  'goflow2',
  'x',
  'a"b',
  '0',
  '17',
  '4294967295',
];

/** `{"k":v,...}` into its member texts (the base lines are flat, with scalar arrays only). */
function membersOf(line: string): string[] {
  const members: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 1;
  for (let i = 1; i < line.length - 1; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ',' && depth === 0) {
      members.push(line.slice(start, i));
      start = i + 1;
    }
  }
  members.push(line.slice(start, line.length - 1));
  return members;
}

type Mutation = (members: string[]) => string[];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((i) => (m: string[]) => m.filter((_, j) => j !== i % m.length)),
  fc.tuple(fc.nat(), fc.nat()).map(([i, j]) => (m: string[]) => {
    const out = [...m];
    const a = i % m.length;
    const b = j % m.length;
    [out[a], out[b]] = [out[b], out[a]];
    return out;
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...VALUES)).map(([i, value]) => (m: string[]) => {
    const out = [...m];
    const k = i % m.length;
    out[k] = `${out[k].slice(0, out[k].indexOf('":') + 2)}${value}`;
    return out;
  }),
  fc
    .tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), fc.nat())
    .map(([key, value, at]) => (m: string[]) => {
      const out = [...m];
      out.splice(at % (m.length + 1), 0, `${JSON.stringify(key)}:${value}`);
      return out;
    }),
  fc.nat().map((i) => (m: string[]) => [...m, m[i % m.length]]), // a duplicate key
);

const lineArbitrary: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...BASE_LINES),
    fc.array(mutation, { maxLength: 4 }),
    fc.constantFrom('none', 'none', 'none', 'space', 'concat', 'truncate', 'trailing'),
    fc.nat(),
  )
  .map(([base, mutations, finish, n]) => {
    let members = membersOf(base);
    for (const m of mutations) if (members.length > 0) members = m(members);
    const line = `{${members.join(',')}}`;
    switch (finish) {
      case 'space':
        return line.replace(',', ', ');
      case 'concat':
        return `${line}${base}`;
      case 'truncate':
        return line.slice(0, n % line.length);
      case 'trailing':
        return `${line} `;
      default:
        return line;
    }
  });

const OPTION_SETS: Goflow2NormalizerOptions[] = [
  {},
  { preserveOriginalEvent: true },
  { tags: ['sflow'], agent: { name: 'a', version: '1', id: 'i', ephemeral_id: 'e' } },
  { fields: { site: 'ams', nested: { n: 1 } } },
  { fields: { site: 'ams', event: { kind: 'overridden' } }, fieldsUnderRoot: true },
  { timezoneFormat: 'none', namespace: 'prod' },
];
const META: LineMeta[] = [
  {
    input: 'filestream',
    path: '/var/log/sflow/goflow2/goflow2.log',
    offset: 4096,
    fingerprint: 'ab'.repeat(32),
  },
  { input: 'filestream', path: '/l/a "quoted" path.log', offset: 0, device_id: '2049', inode: '12' },
  { input: 'stdin' },
];

function pair(options: Goflow2NormalizerOptions) {
  const common = {
    timezone: 'Asia/Kolkata',
    clock: { now: () => Date.UTC(2026, 10, 22, 9, 30) },
    hostname: 'h',
  };
  return {
    direct: new Goflow2Normalizer({ ...common, ...options }),
    steps: new Goflow2Normalizer({ ...common, ...options, directPath: false }),
  };
}

function texts(n: Goflow2Normalizer, line: string, meta: LineMeta): string[] {
  return n.map(line, meta).map((d) => d.json);
}

describe('goflow2 direct path = the pipeline, byte for byte', () => {
  it('GoFlow2 lines as written: every one takes the direct path', () => {
    const { direct, steps } = pair({});
    for (const line of BASE_LINES) {
      for (const meta of META) assert.deepEqual(texts(direct, line, meta), texts(steps, line, meta));
    }
    assert.equal(direct.stats.directLines, BASE_LINES.length * META.length);
    assert.equal(steps.stats.directLines, 0);
  });

  OPTION_SETS.forEach((options, i) => {
    it(`mutated lines, option set ${i} (${JSON.stringify(options)})`, () => {
      const { direct, steps } = pair(options);
      let runs = 0;
      fc.assert(
        fc.property(lineArbitrary, fc.constantFrom(...META), (line, meta) => {
          runs++;
          assert.deepEqual(texts(direct, line, meta), texts(steps, line, meta), line);
        }),
        { seed: 20261122 + i, numRuns: 3000 },
      );
      // the comparison is only worth something if both paths were exercised
      if (options.fieldsUnderRoot) assert.equal(direct.stats.directLines, 0);
      else {
        assert.ok(
          direct.stats.directLines > runs / 10,
          `direct path taken ${direct.stats.directLines}/${runs}`,
        );
        assert.ok(
          direct.stats.directLines < runs * 0.9,
          `direct path taken ${direct.stats.directLines}/${runs}`,
        );
      }
      assert.deepEqual(direct.stats.failures, steps.stats.failures);
    });
  });

  it('a new key sequence is learnt, and an old one is recognised again', () => {
    const { direct, steps } = pair({});
    const other = `{${membersOf(DEFAULT_LINE).reverse().join(',')}}`;
    for (const line of [DEFAULT_LINE, other, DEFAULT_LINE, other, FIXTURE_LINES[0]]) {
      assert.deepEqual(texts(direct, line, META[0]), texts(steps, line, META[0]));
    }
    assert.equal(direct.stats.directLines, 5);
  });

  it('consecutive lines in one second share the timestamp text correctly', () => {
    const { direct, steps } = pair({});
    for (const ns of [
      '1709065920000000000',
      '1709065920999999999',
      '1709065921000000001',
      '999999',
      '-1',
      '-1000001',
    ]) {
      const line = DEFAULT_LINE.replace(/"time_flow_start_ns":\d+/, `"time_flow_start_ns":${ns}`);
      assert.deepEqual(texts(direct, line, META[2]), texts(steps, line, META[2]), ns);
    }
  });
});
