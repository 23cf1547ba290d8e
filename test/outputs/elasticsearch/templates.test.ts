/**
 * The index templates `flowship setup` installs: that they target the data streams, and that
 * every field of every document flowship makes from the fixtures has an explicit mapping whose
 * type Elasticsearch would accept the value with. Documents come from the real decoder and
 * normalizer over every NetFlow/IPFIX capture in fixtures/netflow, and from the GoFlow2 mapper
 * over every line in fixtures/goflow2 plus lines that reach the leftovers and failure documents.
 * (Installing them into a real Elasticsearch is the output's integration test.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import { Goflow2Normalizer, type Goflow2NormalizerOptions, type LineMeta } from '../../../src/ecs/goflow2.ts';
import { buildDictionary, defaultDictionary } from '../../../src/inputs/netflow/fields/dictionary.ts';
import {
  GOFLOW2_TEMPLATE_NAME,
  type IndexTemplate,
  ieMapping,
  indexTemplates,
  NETFLOW_TEMPLATE_NAME,
  TEMPLATE_VERSION,
} from '../../../src/outputs/elasticsearch/templates.ts';
import {
  asJson,
  datTests,
  decodeFixtures,
  FIXTURES,
  normalizer,
  parseLossless,
} from '../../conformance/netflow-fixtures.ts';

type Json = Record<string, any>;

function byName(templates: IndexTemplate[], name: string): Json {
  const template = templates.find((t) => t.name === name);
  assert.ok(template, `template ${name}`);
  return template.body;
}

function mappingsOf(body: Json): Json {
  return body.template.mappings;
}

// ---------------------------------------------------------------------------------------------
// Resolving a document path the way Elasticsearch does: `properties` first, then the first
// dynamic template that matches.

interface Resolved {
  readonly mapping: Json;
  /** Path below a leaf field (`lat`/`lon` of a geo_point). */
  readonly rest: readonly string[];
  /** `properties`, or the dynamic template's name. */
  readonly via: string;
  /** Mapped by name (properties, or a dynamic template listing names), not by guessing from a JSON type. */
  readonly explicit: boolean;
}

function glob(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(text);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function anyGlob(patterns: string | string[] | undefined, text: string): boolean {
  if (patterns === undefined) return true;
  return (Array.isArray(patterns) ? patterns : [patterns]).some((p) => glob(p, text));
}

/** JSON type as Elasticsearch's `match_mapping_type` names it. */
function jsonType(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'bigint') return 'long';
  if (typeof value === 'number') return Number.isInteger(value) ? 'long' : 'double';
  return 'object';
}

function resolve(mappings: Json, path: readonly string[], value: unknown): Resolved | undefined {
  let props: Json | undefined = mappings.properties;
  for (let i = 0; i < path.length && props !== undefined; i++) {
    const m: Json | undefined = props[path[i]];
    if (m === undefined) break;
    if (m.properties !== undefined) {
      if (i === path.length - 1) return { mapping: m, rest: [], via: 'properties', explicit: true };
      props = m.properties;
      continue;
    }
    // an object mapping without properties leaves its children to the dynamic templates
    if (m.type === 'object' && m.enabled !== false) break;
    return { mapping: m, rest: path.slice(i + 1), via: 'properties', explicit: true };
  }
  const full = path.join('.');
  for (const entry of mappings.dynamic_templates ?? []) {
    const [name, t] = Object.entries(entry as Json)[0] as [string, Json];
    if (!anyGlob(t.path_match, full) || !anyGlob(t.match, path[path.length - 1])) continue;
    if (t.match_mapping_type !== undefined && t.match_mapping_type !== jsonType(value)) continue;
    const byName =
      t.match_mapping_type === undefined &&
      Array.isArray(t.match) &&
      t.match.every((m: string) => !m.includes('*'));
    return { mapping: t.mapping, rest: [], via: name, explicit: byName };
  }
  return undefined;
}

const RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  byte: [-(2n ** 7n), 2n ** 7n - 1n],
  short: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Whether Elasticsearch indexes `value` into a field of this mapping: `strict` when the type
 * itself takes it, `lenient` when only `ignore_malformed` saves the document, else `rejected`.
 */
function accepts(resolved: Resolved, value: unknown): 'strict' | 'lenient' | 'rejected' {
  const { mapping, rest } = resolved;
  if (mapping.enabled === false) return 'strict';
  const verdict = (ok: boolean) =>
    ok ? 'strict' : mapping.ignore_malformed === true ? 'lenient' : 'rejected';
  if (rest.length > 0) {
    return verdict(
      mapping.type === 'geo_point' &&
        rest.length === 1 &&
        ['lat', 'lon'].includes(rest[0]) &&
        isNumber(value),
    );
  }
  switch (mapping.type) {
    case 'keyword':
      return verdict(['string', 'number', 'bigint', 'boolean'].includes(typeof value));
    case 'constant_keyword':
      return verdict(typeof value === 'string' && (mapping.value === undefined || mapping.value === value));
    case 'text':
      return verdict(typeof value === 'string');
    case 'byte':
    case 'short':
    case 'integer':
    case 'long': {
      // with `coerce` (the default) an empty string is null: nothing indexed, nothing rejected
      if (value === '') return 'strict';
      const [min, max] = RANGES[mapping.type];
      const n =
        typeof value === 'bigint' ? value : Number.isInteger(value) ? BigInt(value as number) : undefined;
      return verdict(n !== undefined && n >= min && n <= max);
    }
    case 'float':
    case 'double':
      return verdict(isNumber(value));
    case 'boolean':
      return verdict(typeof value === 'boolean');
    case 'date':
      return verdict(
        (typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value))) ||
          typeof value === 'bigint' ||
          (typeof value === 'number' && Number.isInteger(value)),
      );
    case 'ip':
      return verdict(typeof value === 'string' && isIP(value) !== 0);
    default:
      return 'rejected'; // an object mapping met a scalar, or a type this check does not know
  }
}

function isNumber(value: unknown): boolean {
  return typeof value === 'bigint' || (typeof value === 'number' && Number.isFinite(value));
}

/** Calls `visit` for every scalar of the document; array elements take the array's path. */
function leaves(
  value: unknown,
  path: string[],
  visit: (path: readonly string[], value: unknown) => void,
): void {
  if (value === null || value === undefined) return; // null indexes nothing
  if (Array.isArray(value)) {
    for (const element of value) leaves(element, path, visit);
  } else if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) leaves(child, [...path, key], visit);
  } else {
    visit(path, value);
  }
}

interface Coverage {
  /** path -> why (`unmapped`, `dynamic <template>`, `<type> rejects <value>`). */
  readonly problems: Map<string, string>;
  /** Paths whose value only `ignore_malformed` lets in. */
  readonly lenient: Map<string, string>;
  /** Distinct leaf paths seen. */
  readonly paths: Set<string>;
  documents: number;
}

function coverage(): Coverage {
  return { problems: new Map(), lenient: new Map(), paths: new Set(), documents: 0 };
}

function check(mappings: Json, doc: unknown, into: Coverage): void {
  into.documents++;
  leaves(doc, [], (path, value) => {
    const key = path.join('.');
    into.paths.add(key);
    const resolved = resolve(mappings, path, value);
    const shown = typeof value === 'bigint' ? `${value}n` : JSON.stringify(value);
    if (resolved === undefined) into.problems.set(key, 'unmapped (left to dynamic mapping)');
    else if (!resolved.explicit)
      into.problems.set(key, `only the catch-all dynamic template ${resolved.via}`);
    else {
      const verdict = accepts(resolved, value);
      if (verdict === 'rejected')
        into.problems.set(key, `${JSON.stringify(resolved.mapping)} rejects ${shown}`);
      else if (verdict === 'lenient') into.lenient.set(key, `${resolved.mapping.type} ignores ${shown}`);
    }
  });
}

function report(problems: Map<string, string>): string {
  return [...problems].map(([path, why]) => `  ${path}: ${why}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Documents

/** Every NetFlow/IPFIX fixture document, from the captures decoded as `flowship decode` does. */
function* netflowDocuments(): Generator<unknown> {
  const groups: string[][] = datTests().map(([, files]) => files.map((f) => `dat/${f}`));
  // every capture once more, in one decoder: templates of one file serve data of another
  groups.push(
    readdirSync(`${FIXTURES}dat`)
      .sort()
      .map((f) => `dat/${f}`),
  );
  for (const dir of ['pcap', 'generated']) {
    for (const f of readdirSync(FIXTURES + dir).sort())
      if (/\.pcap(ng)?$/.test(f)) groups.push([`${dir}/${f}`]);
  }
  for (const compatibility of ['extended', 'filebeat'] as const) {
    for (const files of groups) {
      for (const shareTemplates of [false, true]) {
        const { records } = decodeFixtures(files, { compatibility, shareTemplates });
        const n = normalizer();
        for (const record of records) yield asJson(n.normalize(record));
      }
    }
  }
}

const GOFLOW2_FIXTURES = new URL('../../../fixtures/goflow2/', import.meta.url);

/**
 * Lines beyond the integration's fixtures: the default format with every GoFlow2 2.2 key
 * (GOFLOW2.md 4, example 1), a NetFlow line with IPv6 and filled lists, ARP, and one line for
 * each kind of failure document (2.5) whose values GoFlow2's renderers print.
 */
const EXTRA_LINES = [
  '{"type":"SFLOW_5","time_received_ns":1709065920620635488,"sequence_num":47142,"sampling_rate":1024,"sampler_address":"10.10.26.5","time_flow_start_ns":1709065920620635488,"time_flow_end_ns":1709065920620635488,"bytes":1518,"packets":1,"src_addr":"10.10.11.38","dst_addr":"10.10.11.54","etype":"IPv4","proto":"TCP","src_port":16443,"dst_port":57444,"in_if":0,"out_if":5031,"src_mac":"3c:ec:ef:fc:f7:38","dst_mac":"00:16:3e:c9:e3:eb","src_vlan":0,"dst_vlan":0,"vlan_id":0,"ip_tos":0,"forwarding_status":0,"ip_ttl":64,"ip_flags":2,"tcp_flags":16,"icmp_type":0,"icmp_code":0,"ipv6_flow_label":0,"fragment_id":25350,"fragment_offset":0,"src_as":0,"dst_as":0,"next_hop":"","next_hop_as":0,"src_net":"0.0.0.0/0","dst_net":"0.0.0.0/0","bgp_next_hop":"","bgp_communities":[],"as_path":[],"mpls_ttl":[],"mpls_label":[],"mpls_ip":[],"observation_domain_id":0,"observation_point_id":0,"layer_stack":["Ethernet","IPv4","TCP"],"layer_size":[14,20,20],"ipv6_routing_header_addresses":[],"ipv6_routing_header_seg_left":0}',
  '{"type":"NETFLOW_V9","time_received_ns":1709065920620635488,"time_flow_start_ns":1709065920620635488,"sampler_address":"2001:db8::9","src_addr":"2001:db8::1","dst_addr":"2001:db8::2","etype":"IPv6","proto":"IPv6-ICMP","bytes":100,"sampling_rate":0,"next_hop":"2001:db8::ff","bgp_communities":[65000,65001],"as_path":[65000,64512],"mpls_ip":["10.0.0.1"],"mpls_label":[16,17],"mpls_ttl":[255,254],"ipv6_routing_header_addresses":["2001:db8::5"],"ipv6_routing_header_seg_left":1,"src_net":"2001:db8::/32","dst_net":"invalid Prefix"}',
  '{"type":"ARP","time_flow_start_ns":1709065920620635488,"src_addr":"","dst_addr":"","etype":"ARP","proto":"HOPOPT","src_port":0,"dst_port":0,"sampler_address":"10.0.0.9"}',
  // step 5: not JSON; step 8: no time
  'not json at all',
  '{"type":"SFLOW_5","src_addr":"10.0.0.1","bytes":100,"sampling_rate":4}',
  // steps 18 and 20: invalid addresses (and empty numbers); 43/44: numbers (`render: none`)
  '{"type":"SFLOW_5","time_flow_start_ns":1709065920620635488,"src_addr":"not-an-ip","dst_addr":"10.0.0.2","bytes":"","sampling_rate":""}',
  '{"type":"SFLOW_5","time_flow_start_ns":1709065920620635488,"src_addr":"10.0.0.1","dst_addr":"10.0.0.300"}',
  '{"type":"SFLOW_5","time_flow_start_ns":1709065920620635488,"etype":2048,"proto":6,"in_if":3,"src_vlan":7}',
];

/**
 * Lines with text where GoFlow2 normally prints a number: the documents index, but those values
 * only through `ignore_malformed` (kept in _source, listed in `_ignored`).
 */
const LENIENT_LINES = [
  // GoFlow2's sample mapping renders time_received_ns with datetimenano
  '{"type":"SFLOW_5","time_received_ns":"2024-02-27T20:32:00.620635488Z","time_flow_start_ns":1709065920620635488,"sampling_rate":1,"bytes":64}',
  // step 8 fails on a text time_flow_start_ns; step 9 on a text operand
  '{"type":"SFLOW_5","time_flow_start_ns":"2024-02-27T20:32:00.620635488Z","src_addr":"10.0.0.1","bytes":100}',
  '{"type":"SFLOW_5","time_flow_start_ns":1709065920620635488,"bytes":"x","sampling_rate":3}',
];

function goflow2Lines(): { line: string; meta: LineMeta }[] {
  const out: { line: string; meta: LineMeta }[] = [];
  for (const file of [
    'pipeline/test-goflow2-sflow-sample.log',
    'sample_logs/test-goflow2-sflow-sample.log',
  ]) {
    let offset = 0;
    for (const line of readFileSync(new URL(file, GOFLOW2_FIXTURES), 'utf8').split('\n')) {
      const meta: LineMeta = {
        input: 'filestream',
        path: `/var/log/sflow/goflow2/${file}`,
        offset,
        device_id: '2049',
        inode: '1234567',
        fingerprint: 'a'.repeat(64),
      };
      out.push({ line, meta });
      offset += Buffer.byteLength(line) + 1;
    }
  }
  return out;
}

/** Normalizer settings that change which fields a document has. */
const GOFLOW2_SETTINGS: Goflow2NormalizerOptions[] = [
  {},
  { preserveOriginalEvent: true },
  // without the `forwarded` tag the documents get host.name; agent.* when configured
  { tags: ['sflow'], agent: { id: 'id', ephemeral_id: 'eph', version: '0.1.0', name: 'collector' } },
  { directPath: false, preserveOriginalEvent: true },
];

function* goflow2Documents(lenient: boolean): Generator<unknown> {
  const lines = lenient
    ? LENIENT_LINES.map((line) => ({ line, meta: { input: 'stdin' } as LineMeta }))
    : [
        ...goflow2Lines(),
        ...EXTRA_LINES.map((line, i) => ({
          line,
          meta: { input: 'filestream', path: '/tmp/extra.log', offset: i * 4096 } as LineMeta,
        })),
        ...EXTRA_LINES.slice(0, 2).map((line) => ({ line, meta: { input: 'stdin' } as LineMeta })),
      ];
  for (const settings of GOFLOW2_SETTINGS) {
    const n = new Goflow2Normalizer({
      timezone: 'UTC',
      clock: { now: () => Date.UTC(2026, 0, 1) },
      hostname: 'test-host',
      ...settings,
    });
    for (const { line, meta } of lines) {
      for (const d of n.map(line, meta)) yield parseLossless(d.json);
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('index templates', () => {
  const templates = indexTemplates();
  const netflow = byName(templates, NETFLOW_TEMPLATE_NAME);
  const goflow2 = byName(templates, GOFLOW2_TEMPLATE_NAME);

  it('installs one composable template per data stream, above the built-in logs template', () => {
    assert.deepEqual(
      templates.map((t) => t.name),
      ['logs-netflow.log', 'logs-goflow2.sflow'],
    );
    assert.deepEqual(netflow.index_patterns, ['logs-netflow.log-*']);
    assert.deepEqual(goflow2.index_patterns, ['logs-goflow2.sflow-*']);
    for (const body of [netflow, goflow2]) {
      assert.ok(body.priority > 100, `priority ${body.priority}`);
      assert.deepEqual(body.data_stream, {});
      assert.equal(body.version, TEMPLATE_VERSION);
      assert.ok(Number.isInteger(body.version));
      assert.equal(body._meta.managed_by, 'flowship');
      assert.match(body._meta.version, /^\d+\.\d+\.\d+/);
      assert.match(body._meta.fingerprint, /^[0-9a-f]{16}$/);
      // self-contained: the test cluster has no logs@mappings or ecs@mappings to compose
      assert.equal(body.composed_of, undefined);
      const { settings, mappings } = body.template;
      assert.ok(settings.index.mapping.total_fields.limit >= 1000);
      assert.equal(settings.index.lifecycle, undefined);
      assert.equal(settings.index.codec, undefined);
      assert.equal(mappings.dynamic, true);
      assert.equal(mappings.date_detection, false);
      assert.equal(mappings.numeric_detection, false);
      assert.deepEqual(mappings.properties['@timestamp'], { type: 'date' });
    }
    assert.ok(netflow.template.settings.index.mapping.total_fields.limit >= 10_000);
  });

  it('uses only field types the integ-test distribution knows, unless constant_keyword is asked for', () => {
    const types = new Set<string>();
    const collect = (props: Json) => {
      for (const m of Object.values<Json>(props)) {
        if (m.properties !== undefined) collect(m.properties);
        else types.add(m.type);
      }
    };
    for (const body of [netflow, goflow2]) {
      collect(mappingsOf(body).properties);
      for (const entry of mappingsOf(body).dynamic_templates)
        types.add(Object.values<Json>(entry)[0].mapping.type);
    }
    const server = ['keyword', 'text', 'long', 'integer', 'short', 'byte', 'float', 'double', 'boolean'];
    assert.deepEqual(
      [...types].filter((t) => ![...server, 'date', 'ip', 'geo_point', 'object'].includes(t)),
      [],
    );
  });

  it('maps data_stream.* and event.dataset as constant_keyword matching the data stream names', () => {
    for (const body of indexTemplates({ constantKeyword: true }).map((t) => t.body)) {
      const props = mappingsOf(body).properties;
      const dataset = props.data_stream.properties.dataset;
      const type = props.data_stream.properties.type;
      assert.equal(dataset.type, 'constant_keyword');
      assert.equal(type.type, 'constant_keyword');
      assert.deepEqual(props.data_stream.properties.namespace, { type: 'constant_keyword' });
      assert.deepEqual(body.index_patterns, [`${type.value}-${dataset.value}-*`]);
      assert.deepEqual(props.event.properties.dataset, { type: 'constant_keyword', value: dataset.value });
      assert.deepEqual(props.event.properties.module, {
        type: 'constant_keyword',
        value: dataset.value.split('.')[0],
      });
    }
    assert.equal(mappingsOf(netflow).properties.data_stream.properties.dataset.type, 'keyword');
  });

  it('maps every field of every NetFlow/IPFIX fixture document, with a type that takes its value', () => {
    const result = coverage();
    for (const doc of netflowDocuments()) check(mappingsOf(netflow), doc, result);
    assert.ok(result.documents > 1500, `${result.documents} documents`);
    assert.ok(
      [...result.paths].some((p) => p.startsWith('netflow.options.')),
      'options documents decoded',
    );
    assert.equal(result.problems.size, 0, `fields without a fitting mapping:\n${report(result.problems)}`);
    assert.equal(result.lenient.size, 0, `values only ignore_malformed indexes:\n${report(result.lenient)}`);
  });

  it('maps every field of every GoFlow2 document, failure documents and leftovers included', () => {
    const result = coverage();
    for (const doc of goflow2Documents(false)) check(mappingsOf(goflow2), doc, result);
    for (const path of [
      'goflow2.time_received_ns',
      'goflow2.layer_stack',
      'error.message',
      'message',
      'host.name',
    ]) {
      assert.ok(result.paths.has(path), `the documents have ${path}`);
    }
    assert.equal(result.problems.size, 0, `fields without a fitting mapping:\n${report(result.problems)}`);
    assert.equal(result.lenient.size, 0, `values only ignore_malformed indexes:\n${report(result.lenient)}`);
  });

  it('indexes failure documents whose leftovers are not what GoFlow2 normally prints', () => {
    const result = coverage();
    for (const doc of goflow2Documents(true)) check(mappingsOf(goflow2), doc, result);
    assert.equal(result.problems.size, 0, `fields without a fitting mapping:\n${report(result.problems)}`);
    assert.deepEqual(
      [...result.lenient.keys()].sort(),
      ['goflow2.bytes', 'goflow2.time_flow_start_ns', 'goflow2.time_received_ns'],
      report(result.lenient),
    );
  });

  it('leaves keys GoFlow2 does not define to dynamic mapping, strings as keyword', () => {
    // custom fields (`formatter.protobuf`) and renamed keys (`formatter.rename`) can be anything
    const line =
      '{"type":"SFLOW_5","time_flow_start_ns":1709065920620635488,"custom_text":"abc","custom_count":5}';
    const [doc] = new Goflow2Normalizer({ timezone: 'UTC' }).map(line, { input: 'stdin' });
    const { goflow2: leftovers } = parseLossless(doc.json) as Json;
    assert.deepEqual(leftovers, { custom_text: 'abc', custom_count: 5n });
    const mappings = mappingsOf(goflow2);
    assert.equal(resolve(mappings, ['goflow2', 'custom_text'], 'abc')?.via, 'strings_as_keyword');
    assert.equal(resolve(mappings, ['goflow2', 'custom_text'], 'abc')?.mapping.type, 'keyword');
    assert.equal(resolve(mappings, ['goflow2', 'custom_count'], 5n), undefined); // dynamic: long
  });

  it('maps each information element of the built-in dictionary by its abstract type', () => {
    const props = mappingsOf(netflow).properties.netflow.properties;
    const byKey = new Map<string, Set<string>>();
    for (const [, , def] of defaultDictionary('extended').entries()) {
      if (ieMapping(def.type) === undefined) continue;
      byKey.set(def.key, (byKey.get(def.key) ?? new Set()).add(JSON.stringify(ieMapping(def.type))));
    }
    for (const [key, mappings] of byKey) {
      assert.ok(props[key], `netflow.${key}`);
      if (mappings.size === 1) assert.deepEqual(props[key], JSON.parse([...mappings][0]), `netflow.${key}`);
    }
    // the filebeat dictionary is a subset, with the same types
    for (const [, , def] of defaultDictionary('filebeat').entries()) {
      if (ieMapping(def.type) !== undefined) assert.ok(props[def.key], `netflow.${def.key}`);
    }
    assert.deepEqual(props.octet_delta_count, { type: 'long', ignore_malformed: true });
    assert.deepEqual(props.protocol_identifier, { type: 'short' });
    assert.deepEqual(props.source_transport_port, { type: 'integer' });
    assert.deepEqual(props.ingress_interface, { type: 'long' });
    assert.deepEqual(props.source_ipv4_address, { type: 'ip' });
    assert.deepEqual(props.flow_start_milliseconds, { type: 'date' });
    assert.deepEqual(props.padding_octets, { type: 'short' });
    assert.deepEqual(props.source_mac_address, { type: 'keyword', ignore_above: 1024 });
    assert.deepEqual(props.data_records_reliability, { type: 'boolean' });
    assert.deepEqual(props.sampling_probability, { type: 'double' });
    assert.deepEqual(props.sub_template_list, { type: 'object', enabled: false });
    assert.deepEqual(props.exporter.properties.timestamp, { type: 'date' });
    assert.deepEqual(props.tcp_flags, { type: 'keyword', ignore_above: 1024 });
  });

  it('gives a key that elements type differently a type that takes both', () => {
    const props = mappingsOf(netflow).properties.netflow.properties;
    // IANA 372 is a string, Cisco 12232 an unsigned32
    assert.equal(props.application_category_name.type, 'keyword');
    // IANA 223 is an unsigned64, CERT's (PEN 6871) 223 an unsigned32
    assert.deepEqual(props.tcp_urg_total_count, { type: 'long', ignore_malformed: true });
  });

  it('types scope and options fields by element name through dynamic templates', () => {
    const mappings = mappingsOf(netflow);
    const at = (path: string, value: unknown) => resolve(mappings, path.split('.'), value);
    assert.deepEqual(at('netflow.options.sampling_interval', 1)?.mapping, { type: 'long' });
    assert.deepEqual(at('netflow.scope.octet_delta_count', 1)?.mapping, {
      type: 'long',
      ignore_malformed: true,
    });
    assert.deepEqual(at('netflow.options.interface_description', 'x')?.mapping.type, 'keyword');
    assert.deepEqual(
      at('netflow.options.system_init_time_milliseconds', '2020-01-01T00:00:00.000Z')?.mapping,
      {
        type: 'date',
      },
    );
    assert.deepEqual(at('netflow.options.exporter_ipv4_address', '10.0.0.1')?.mapping, { type: 'ip' });
    // a string nobody defined is a keyword, never text
    assert.equal(at('netflow.options.no_such_element', 'x')?.via, 'strings_as_keyword');
    assert.equal(resolve(mappingsOf(goflow2), ['goflow2', 'custom'], 'x')?.mapping.type, 'keyword');
  });

  it('maps custom_definitions fields, merged from every netflow input', () => {
    const source = 'custom.yml';
    const dictionary = buildDictionary({
      compatibility: 'extended',
      custom: [
        { pen: 25461, id: 56, type: 'string', name: 'paloAltoUserName', source },
        { pen: 25461, id: 57, type: 'ipv4Address', name: 'paloAltoTunnelAddress', source },
      ],
    });
    const other = buildDictionary({
      compatibility: 'filebeat',
      custom: [{ pen: 2636, id: 137, type: 'unsigned32', name: 'juniperCommonProperties', source }],
    });
    const body = byName(indexTemplates({ netflowDictionary: [dictionary, other] }), NETFLOW_TEMPLATE_NAME);
    const props = mappingsOf(body).properties.netflow.properties;
    assert.equal(props.palo_alto_user_name.type, 'keyword');
    assert.deepEqual(props.palo_alto_tunnel_address, { type: 'ip' });
    assert.deepEqual(props.juniper_common_properties, { type: 'long' });
    assert.deepEqual(
      resolve(mappingsOf(body), ['netflow', 'options', 'palo_alto_tunnel_address'], '10.0.0.1')?.mapping,
      { type: 'ip' },
    );
    assert.notEqual(body._meta.fingerprint, netflow._meta.fingerprint);
    assert.equal(mappingsOf(netflow).properties.netflow.properties.palo_alto_user_name, undefined);
  });

  it('is deterministic, and puts an ILM policy in the settings only when given one', () => {
    assert.deepEqual(indexTemplates(), templates);
    assert.equal(JSON.stringify(indexTemplates()), JSON.stringify(templates));
    const withIlm = indexTemplates({ ilmPolicy: 'flowship-30d' })[0].body as Json;
    assert.deepEqual(withIlm.template.settings.index.lifecycle, { name: 'flowship-30d' });
    assert.notEqual(withIlm._meta.fingerprint, netflow._meta.fingerprint);
  });
});
