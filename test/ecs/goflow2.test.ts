/**
 * The GoFlow2 mapper against the Elastic integration: the pipeline fixture and sample event of
 * package goflow2 0.2.0 (fixtures/goflow2, Elastic License 2.0; comparison rules in its README),
 * the worked examples of GOFLOW2.md 4, every step that can fail (2.5), the quirks (2.4), the
 * deliberate departures (2.6) and the agent-side fields (2.7). Documents are read back from their
 * JSON text with integers beyond 2^53 as bigint, so the serializer is tested too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  type Goflow2Document,
  Goflow2Normalizer,
  type Goflow2NormalizerOptions,
  type LineMeta,
  STEP_TAGS,
} from '../../src/ecs/goflow2.ts';
import { documentId } from '../../src/ecs/goflow2-id.ts';
import { ManualClock } from '../../src/pipeline/clock.ts';

type Json = Record<string, any>;

const FIXTURES = new URL('../../fixtures/goflow2/', import.meta.url);
const READ_TIME = Date.UTC(2026, 0, 1, 12, 0, 0, 123);
const READ_ISO = '2026-01-01T12:00:00.123Z';
const PATH = '/var/log/sflow/goflow2/goflow2.log';
const FILE: LineMeta = { input: 'filestream', path: PATH, offset: 0 };

/** JSON text -> value, integers beyond 2^53 as bigint (so they compare exactly). */
function parseExact(text: string): any {
  return JSON.parse(text, (_k: string, v: unknown, ctx?: { source?: string }) =>
    typeof v === 'number' &&
    !Number.isSafeInteger(v) &&
    ctx?.source !== undefined &&
    /^-?\d+$/.test(ctx.source)
      ? BigInt(ctx.source)
      : v,
  );
}

function normalizer(options: Goflow2NormalizerOptions = {}): Goflow2Normalizer {
  return new Goflow2Normalizer({
    timezone: 'UTC',
    clock: { now: () => READ_TIME },
    hostname: 'test-host',
    ...options,
  });
}

/** Every document of a line, as JSON carries it. */
function mapAll(line: string, options: Goflow2NormalizerOptions = {}, meta: LineMeta = FILE): Json[] {
  return normalizer(options)
    .map(line, meta)
    .map((d) => parseExact(JSON.stringify(d.doc)));
}

function mapOne(line: string, options: Goflow2NormalizerOptions = {}, meta: LineMeta = FILE): Json {
  const docs = mapAll(line, options, meta);
  assert.equal(docs.length, 1);
  return docs[0];
}

/** A GoFlow2 line from an object (insertion order kept); `ns` is written as a bare literal. */
function line(fields: Record<string, unknown>): string {
  return JSON.stringify(fields, (_k, v) => (typeof v === 'bigint' ? JSON.rawJSON(v.toString()) : v));
}

const NS = 1722384059483524068n;
const BASE = {
  type: 'SFLOW_5',
  time_flow_start_ns: NS,
  sampler_address: '89.160.20.129',
  sequence_num: 1022,
  in_if: 561,
  out_if: 531,
  src_addr: '81.2.69.193',
  dst_addr: '81.2.69.194',
  etype: 'IPv4',
  proto: 'TCP',
  src_port: 6097,
  dst_port: 443,
  src_vlan: 1500,
  dst_vlan: 1500,
  sampling_rate: 2000,
  bytes: 70,
};

/** Fields the agent adds and the pipeline fixture lacks (fixtures README, "Agent-side fields"). */
function withoutAgentFields(doc: Json): Json {
  const copy = structuredClone(doc);
  for (const key of ['data_stream', 'input', 'log', 'agent', 'host']) delete copy[key];
  delete copy.event.dataset;
  return copy;
}

/** Fields that only the GeoIP databases give (geoip.mode none). */
function withoutGeo(doc: Json): Json {
  const copy = structuredClone(doc);
  for (const side of ['source', 'destination']) {
    if (copy[side] === undefined) continue;
    delete copy[side].geo;
    delete copy[side].as;
  }
  return copy;
}

describe('pipeline fixture: elastic/integrations goflow2 0.2.0, data stream sflow', () => {
  const log = readFileSync(new URL('pipeline/test-goflow2-sflow-sample.log', FIXTURES));
  const lines = log.toString('utf8').split('\n');
  assert.equal(lines.pop(), '', 'every line ends in \\n');
  const expected: Json[] = parseExact(
    readFileSync(new URL('pipeline/test-goflow2-sflow-sample.log-expected.json', FIXTURES), 'utf8'),
  ).expected;
  // the -config.yml: tags in this order, event.timezone +00:00
  const options: Goflow2NormalizerOptions = { tags: ['preserve_original_event', 'forwarded', 'sflow'] };

  it('12 lines, 12 expected documents', () => {
    assert.equal(lines.length, 12);
    assert.equal(expected.length, 12);
  });

  lines.forEach((text, i) => {
    it(`line ${i + 1}: every field but geo/as (geoip none) and the agent's`, () => {
      const doc = mapOne(text, options);
      assert.equal(doc.ecs.version, '8.17.0');
      doc.ecs.version = '8.16.0'; // the fixture is from 0.2.0
      assert.deepEqual(withoutAgentFields(doc), withoutGeo(expected[i]));
      assert.equal(doc.event.original, text);
    });
  });

  it('log.offset is each line start when read in order (README: 0, 317, ..., 3315)', () => {
    const n = normalizer(options);
    const offsets: number[] = [];
    let offset = 0;
    for (const text of lines) {
      const [d] = n.map(text, { input: 'filestream', path: PATH, offset });
      offsets.push((d.doc.log as Json).offset);
      offset += Buffer.byteLength(text) + 1;
    }
    assert.deepEqual(offsets, [0, 317, 631, 940, 1253, 1566, 1884, 2195, 2506, 2819, 3112, 3315]);
    assert.equal(offset, log.length);
    assert.deepEqual(n.stats, { failures: {}, overflow: 0, splitLines: 0, directLines: lines.length });
  });

  it('sample_event.json is expected[0], and line 1 maps to it', () => {
    const sample = parseExact(readFileSync(new URL('sample_event.json', FIXTURES), 'utf8'));
    assert.deepEqual(sample, expected[0]);
    const doc = withoutAgentFields(mapOne(lines[0], options));
    doc.ecs.version = '8.16.0';
    assert.deepEqual(doc, withoutGeo(sample));
  });

  it('sample_logs is the first 9 lines of the pipeline log', () => {
    const sample = readFileSync(new URL('sample_logs/test-goflow2-sflow-sample.log', FIXTURES));
    assert.deepEqual(sample, log.subarray(0, 2819));
  });
});

describe('worked examples (GOFLOW2.md 4)', () => {
  it('Example 1: default format, leftovers, "0" ids, next_hop "" kept, exact 19-digit integers', () => {
    const text =
      '{"type":"SFLOW_5","time_received_ns":1709065920620635488,"sequence_num":47142,"sampling_rate":1024,"sampler_address":"10.10.26.5","time_flow_start_ns":1709065920620635488,"time_flow_end_ns":1709065920620635488,"bytes":1518,"packets":1,"src_addr":"10.10.11.38","dst_addr":"10.10.11.54","etype":"IPv4","proto":"TCP","src_port":16443,"dst_port":57444,"in_if":0,"out_if":5031,"src_mac":"3c:ec:ef:fc:f7:38","dst_mac":"00:16:3e:c9:e3:eb","src_vlan":0,"dst_vlan":0,"vlan_id":0,"ip_tos":0,"forwarding_status":0,"ip_ttl":64,"ip_flags":2,"tcp_flags":16,"icmp_type":0,"icmp_code":0,"ipv6_flow_label":0,"fragment_id":25350,"fragment_offset":0,"src_as":0,"dst_as":0,"next_hop":"","next_hop_as":0,"src_net":"0.0.0.0/0","dst_net":"0.0.0.0/0","bgp_next_hop":"","bgp_communities":[],"as_path":[],"mpls_ttl":[],"mpls_label":[],"mpls_ip":[],"observation_domain_id":0,"observation_point_id":0}';
    const [d] = normalizer().map(text, FILE);
    const json = JSON.stringify(d.doc);
    // leftovers reach Elasticsearch digit for digit
    assert.ok(json.includes('"time_flow_end_ns":1709065920620635488'));
    assert.ok(json.includes('"time_received_ns":1709065920620635488'));
    assert.deepEqual(
      parseExact(json),
      parseExact(`{
 "@timestamp": "2024-02-27T20:32:00.620Z",
 "data_stream": {"dataset": "goflow2.sflow", "namespace": "default", "type": "logs"},
 "destination": {"address": ["10.10.11.54"], "ip": "10.10.11.54", "port": 57444},
 "ecs": {"version": "8.17.0"},
 "event": {"action": "SFLOW_5", "category": ["network"], "dataset": "goflow2.sflow", "kind": "event", "timezone": "+00:00", "type": ["connection"]},
 "goflow2": {
   "as_path": [], "bgp_communities": [], "bgp_next_hop": "", "dst_as": 0, "dst_mac": "00:16:3e:c9:e3:eb",
   "dst_net": "0.0.0.0/0", "forwarding_status": 0, "fragment_id": 25350, "fragment_offset": 0, "icmp_code": 0,
   "icmp_type": 0, "ip_flags": 2, "ip_tos": 0, "ip_ttl": 64, "ipv6_flow_label": 0, "mpls_ip": [], "mpls_label": [],
   "mpls_ttl": [], "next_hop": "", "next_hop_as": 0, "observation_domain_id": 0, "observation_point_id": 0,
   "packets": 1, "src_as": 0, "src_mac": "3c:ec:ef:fc:f7:38", "src_net": "0.0.0.0/0", "tcp_flags": 16,
   "time_flow_end_ns": 1709065920620635488, "time_received_ns": 1709065920620635488, "vlan_id": 0
 },
 "input": {"type": "filestream"},
 "log": {"file": {"path": "/var/log/sflow/goflow2/goflow2.log"}, "offset": 0},
 "network": {"bytes": 1554432, "packets": 1024, "transport": "tcp", "type": "ipv4"},
 "observer": {"egress": {"interface": {"id": "5031"}, "vlan": {"id": "0"}}, "ingress": {"interface": {"id": "0"}, "vlan": {"id": "0"}}, "ip": ["10.10.26.5"]},
 "related": {"ip": ["10.10.11.38", "10.10.11.54"]},
 "sflow": {"bytes": 1518, "sample_rate": 1024, "sequence_num": 47142},
 "source": {"address": ["10.10.11.38"], "ip": "10.10.11.38", "port": 16443},
 "tags": ["sflow", "forwarded"]
}`),
    );
  });

  it('Example 2: fixture line 10 at offset 2819, preserve_original_event: bytes "" and no sequence_num', () => {
    const text =
      '{"type":"SFLOW_5","time_flow_start_ns":1722384059483524068,"sampler_address":"89.160.20.129","in_if":561,"out_if":531,"src_addr":"81.2.69.193","dst_addr":"81.2.69.194","etype":"IPv4","proto":"TCP","src_port":6097,"dst_port":443,"src_vlan":1500,"dst_vlan":1500,"sampling_rate":2000,"bytes":""}';
    const doc = mapOne(text, { preserveOriginalEvent: true }, { ...FILE, offset: 2819 });
    assert.deepEqual(
      doc,
      parseExact(`{
 "@timestamp": "2024-07-31T00:00:59.483Z",
 "data_stream": {"dataset": "goflow2.sflow", "namespace": "default", "type": "logs"},
 "destination": {"address": ["81.2.69.194"], "ip": "81.2.69.194", "port": 443},
 "ecs": {"version": "8.17.0"},
 "event": {"original": "{\\"type\\":\\"SFLOW_5\\",\\"time_flow_start_ns\\":1722384059483524068,\\"sampler_address\\":\\"89.160.20.129\\",\\"in_if\\":561,\\"out_if\\":531,\\"src_addr\\":\\"81.2.69.193\\",\\"dst_addr\\":\\"81.2.69.194\\",\\"etype\\":\\"IPv4\\",\\"proto\\":\\"TCP\\",\\"src_port\\":6097,\\"dst_port\\":443,\\"src_vlan\\":1500,\\"dst_vlan\\":1500,\\"sampling_rate\\":2000,\\"bytes\\":\\"\\"}",
   "action": "SFLOW_5", "category": ["network"], "dataset": "goflow2.sflow", "kind": "event", "timezone": "+00:00", "type": ["connection"]},
 "input": {"type": "filestream"},
 "log": {"file": {"path": "/var/log/sflow/goflow2/goflow2.log"}, "offset": 2819},
 "network": {"packets": 2000, "transport": "tcp", "type": "ipv4"},
 "observer": {"egress": {"interface": {"id": "531"}, "vlan": {"id": "1500"}}, "ingress": {"interface": {"id": "561"}, "vlan": {"id": "1500"}}, "ip": ["89.160.20.129"]},
 "related": {"ip": ["81.2.69.193", "81.2.69.194"]},
 "sflow": {"sample_rate": 2000},
 "source": {"address": ["81.2.69.193"], "ip": "81.2.69.193", "port": 6097},
 "tags": ["sflow", "forwarded", "preserve_original_event"]
}`),
    );
  });

  it('Example 3: fixture line 12 at offset 3315, src_addr "" (geo fields left out: geoip none)', () => {
    const text =
      '{"type":"SFLOW_5","time_flow_start_ns":1722384059483524068,"src_addr":"","dst_addr":"81.2.69.194","etype":"IPv4","proto":"TCP","src_port":6097,"dst_port":443,"sampling_rate":111,"bytes":3321}';
    const doc = mapOne(text, {}, { ...FILE, offset: 3315 });
    assert.deepEqual(doc, {
      '@timestamp': '2024-07-31T00:00:59.483Z',
      data_stream: { dataset: 'goflow2.sflow', namespace: 'default', type: 'logs' },
      destination: { address: ['81.2.69.194'], ip: '81.2.69.194', port: 443 },
      ecs: { version: '8.17.0' },
      event: {
        action: 'SFLOW_5',
        category: ['network'],
        dataset: 'goflow2.sflow',
        kind: 'event',
        timezone: '+00:00',
        type: ['connection'],
      },
      input: { type: 'filestream' },
      log: { file: { path: PATH }, offset: 3315 },
      network: { bytes: 368631, packets: 111, transport: 'tcp', type: 'ipv4' },
      related: { ip: ['81.2.69.194'] },
      sflow: { bytes: 3321, sample_rate: 111 },
      source: { port: 6097 },
      tags: ['sflow', 'forwarded'],
    });
  });
});

const PREFIX = (processor: string, tag: string) =>
  `Processor ${processor} with tag ${tag} in pipeline logs-goflow2.sflow-0.7.0 failed with message `;

/** Maps a line that must fail at `tag`: checks the message prefix, Source, read time and counter. */
function failing(text: string, processor: string, tag: string, options: Goflow2NormalizerOptions = {}): Json {
  const n = normalizer(options);
  const [d, ...rest] = n.map(text, FILE);
  assert.equal(rest.length, 0);
  assert.equal(d.failedTag, tag);
  assert.deepEqual(n.stats.failures, { [tag]: 1 });
  const doc = parseExact(JSON.stringify(d.doc));
  const message: string = doc.error.message;
  assert.ok(message.startsWith(PREFIX(processor, tag)), message);
  // flowship's addition: the failing processor, for counting failures by kind
  assert.equal(doc.error.type, processor);
  // Source: the document as it stood when the step failed, compact JSON
  const { error, ...state } = d.doc;
  assert.ok(message.endsWith(` - Source ${JSON.stringify(state)}`), message);
  return doc;
}

describe('failure documents (GOFLOW2.md 2.5): state as at the failing step', () => {
  const AFTER_4 = {
    dataset: 'goflow2.sflow',
    timezone: '+00:00',
    kind: 'event',
    category: ['network'],
    type: ['connection'],
  };

  it('step 5 json: invalid JSON, trailing data, duplicate keys (even escaped) keep message, no goflow2', () => {
    for (const text of [
      '{"type":"SFLOW_5",',
      `${line(BASE)} x`,
      '{"type":"SFLOW_5","time_flow_start_ns":1,"type":"NETFLOW_V9"}',
      '{"type":"SFLOW_5","time_flow_start_ns":1,"\\u0074ype":"x"}',
      'SrcAddr=1.2.3.4',
    ]) {
      // preserve_original_event does not matter: event.original is set only at step 6
      const doc = failing(text, 'json', STEP_TAGS.json, { preserveOriginalEvent: true });
      assert.equal(doc.message, text);
      assert.deepEqual(doc.event, AFTER_4);
      assert.deepEqual(doc.ecs, { version: '8.17.0' });
      assert.equal(doc['@timestamp'], READ_ISO);
      assert.equal('goflow2' in doc, false);
    }
    const dup = failing('{"a":1,"a":2}', 'json', STEP_TAGS.json);
    assert.match(dup.error.message, /Duplicate field 'a'/);
    // Jackson's nesting limit (1000) also bounds every walk over the parsed value
    failing(`{"a":${'['.repeat(1000)}${']'.repeat(1000)}}`, 'json', STEP_TAGS.json);
    const deepest = `{"time_flow_start_ns":1,"a":${'['.repeat(999)}${']'.repeat(999)}}`;
    assert.equal(normalizer().map(deepest, FILE)[0].failedTag, undefined);
  });

  it('step 8 script: time_flow_start_ns missing, null, a string (datetimenano), boolean, beyond 64 bits', () => {
    const variants: Record<string, unknown>[] = [
      { type: 'SFLOW_5', bytes: 1 },
      { type: 'SFLOW_5', time_flow_start_ns: null },
      { type: 'SFLOW_5', time_flow_start_ns: '2024-07-31T00:00:59.483524068Z' },
      { type: 'SFLOW_5', time_flow_start_ns: true },
      { type: 'SFLOW_5', time_flow_start_ns: [NS] },
      { type: 'SFLOW_5', time_flow_start_ns: 2n ** 63n },
    ];
    for (const fields of variants) {
      const text = line(fields);
      const doc = failing(text, 'script', STEP_TAGS.timeFlowStart);
      // all of goflow2, event.original without the tag, @timestamp = read time, no message
      assert.deepEqual(doc.goflow2, parseExact(text));
      assert.deepEqual(doc.event, { ...AFTER_4, original: text });
      assert.equal(doc['@timestamp'], READ_ISO);
      assert.equal('message' in doc, false);
    }
  });

  it('step 8 script: goflow2 not an object (an array, a number, null, a blank line)', () => {
    for (const [text, goflow2] of [
      ['[1,2]', [1, 2]],
      ['42', 42],
      ['null', null],
      ['  \t', null],
    ] as const) {
      const doc = failing(text, 'script', STEP_TAGS.timeFlowStart);
      assert.deepEqual(doc.goflow2, goflow2);
      assert.equal(doc.event.original, text);
    }
  });

  it('step 9 script: a non-numeric operand (string, boolean, list, map, BigInteger)', () => {
    for (const bytes of ['70', true, [70], { n: 70 }, 2n ** 63n]) {
      const doc = failing(line({ ...BASE, bytes }), 'script', STEP_TAGS.flowSize);
      // step 8 ran: the ns value is now milliseconds; step 10 did not
      assert.equal(doc.goflow2.time_flow_start_ns, 1722384059483);
      assert.equal(doc['@timestamp'], READ_ISO);
      assert.equal('flow_size' in doc.goflow2, false);
      assert.equal(doc.goflow2.type, 'SFLOW_5');
    }
    failing(line({ ...BASE, sampling_rate: 'x' }), 'script', STEP_TAGS.flowSize);
  });

  it('step 10 date: a float time whose double prints with an exponent', () => {
    const text = line({ ...BASE }).replace(`${NS}`, `${NS}.0`);
    const doc = failing(text, 'date', STEP_TAGS.date);
    // Jackson's Double of the literal is 1722384059483524096
    assert.equal(doc.goflow2.time_flow_start_ns, 1722384059483.5242);
    assert.equal(doc['@timestamp'], READ_ISO);
    // a small double without exponent and at most 6 fraction digits parses (floor)
    assert.equal(
      mapOne(line({ ...BASE }).replace(`${NS}`, '1500000.0'))['@timestamp'],
      '1970-01-01T00:00:00.001Z',
    );
  });

  it('step 18/20 convert ip: an invalid source or destination address', () => {
    const src = failing(line({ ...BASE, src_addr: '81.2.69.256' }), 'convert', STEP_TAGS.srcAddr);
    assert.match(src.error.message, /\[81\.2\.69\.256\] is not a valid ipv4\/ipv6 address/);
    // steps 11-17 ran
    assert.equal(src.event.action, 'SFLOW_5');
    assert.deepEqual(src.observer, {
      ip: ['89.160.20.129'],
      ingress: { interface: { id: '561' } },
      egress: { interface: { id: '531' } },
    });
    assert.deepEqual(src.sflow, { sequence_num: 1022 });
    assert.equal(src.goflow2.src_addr, '81.2.69.256');
    assert.equal(src.goflow2.dst_addr, '81.2.69.194');
    assert.equal('source' in src, false);
    assert.equal(src['@timestamp'], '2024-07-31T00:00:59.483Z');

    const dst = failing(line({ ...BASE, dst_addr: '::ffff:81.2.69.194.1' }), 'convert', STEP_TAGS.dstAddr);
    assert.deepEqual(dst.source, { ip: '81.2.69.193' });
    assert.equal(dst.goflow2.dst_addr, '::ffff:81.2.69.194.1');
    assert.equal('destination' in dst, false);

    for (const bad of [
      '010.0.0.1',
      '1.2.3',
      'localhost',
      '1.2.3.4%eth0',
      '::ffff:1.2.3.4%eth0',
      '1.2.3.4::',
    ]) {
      failing(line({ ...BASE, src_addr: bad }), 'convert', STEP_TAGS.srcAddr);
    }
    failing(line({ ...BASE, src_addr: 3232235777 }), 'convert', STEP_TAGS.srcAddr);
  });

  it('step 43 lowercase: proto rendered as a number (render: none)', () => {
    const doc = failing(line({ ...BASE, proto: 6 }), 'lowercase', STEP_TAGS.transport);
    assert.match(doc.error.message, /field \[network\.transport\] of type \[java\.lang\.Integer\]/);
    assert.deepEqual(doc.network, { type: 'IPv4', transport: 6, packets: 2000, bytes: 140000 });
    // steps 41-42 ran (goflow2 emptied and removed); 44-50 did not
    assert.equal('goflow2' in doc, false);
    assert.equal('sample_rate' in doc.sflow, false);
    assert.equal('related' in doc, false);
    assert.equal('address' in doc.source, false);
    assert.equal(typeof doc.event.original, 'string');
  });

  it('step 44 lowercase: etype rendered as a number (render: none)', () => {
    const doc = failing(line({ ...BASE, etype: 2048 }), 'lowercase', STEP_TAGS.type);
    assert.deepEqual(doc.network, { type: 2048, transport: 'tcp', packets: 2000, bytes: 140000 });
  });

  it('steps 15-29 convert to string: lists element by element; a null element fails', () => {
    const doc = mapOne(line({ ...BASE, in_if: [1, 2.5], src_vlan: true }));
    assert.deepEqual(doc.observer.ingress, { interface: { id: ['1', '2.5'] }, vlan: { id: 'true' } });
    const floaty = mapOne(line({ ...BASE }).replace('"out_if":531', '"out_if":531.0'));
    assert.equal(floaty.observer.egress.interface.id, '531.0');
    failing(line({ ...BASE, in_if: [1, null] }), 'convert', STEP_TAGS.ingressInterface);
  });

  it('counts failures by tag, and names the configured package version', () => {
    const n = normalizer({ packageVersion: '0.2.0' });
    n.map('{', FILE);
    n.map('{', FILE);
    const [d] = n.map(line({ ...BASE, proto: 6 }), FILE);
    assert.deepEqual(n.stats.failures, { [STEP_TAGS.json]: 2, [STEP_TAGS.transport]: 1 });
    assert.match((d.doc.error as Json).message, /in pipeline logs-goflow2\.sflow-0\.2\.0 failed/);
  });
});

describe('quirks kept (GOFLOW2.md 2.4)', () => {
  it('@timestamp is floor(ns / 1e6), exact beyond 2^53 (JSON.parse would round to .315Z); 0 is the epoch', () => {
    const doc = mapOne(line({ ...BASE, time_flow_start_ns: 1722384059314999999n }));
    assert.equal(doc['@timestamp'], '2024-07-31T00:00:59.314Z');
    assert.equal(mapOne(line({ ...BASE, time_flow_start_ns: 0 }))['@timestamp'], '1970-01-01T00:00:00.000Z');
    assert.equal(
      mapOne(line({ ...BASE, time_flow_start_ns: 999_999 }))['@timestamp'],
      '1970-01-01T00:00:00.000Z',
    );
  });

  it('ARP: "HOPOPT" becomes "hopopt", "" addresses are skipped then dropped, next_hop "" stays', () => {
    const doc = mapOne(
      line({
        type: 'SFLOW_5',
        time_flow_start_ns: NS,
        sampling_rate: 512,
        sampler_address: '10.0.0.1',
        bytes: 64,
        src_addr: '',
        dst_addr: '',
        etype: 'ARP',
        proto: 'HOPOPT',
        src_port: 0,
        dst_port: 0,
        next_hop: '',
        bgp_next_hop: '',
        src_net: 'invalid Prefix',
      }),
    );
    assert.deepEqual(doc.network, { type: 'arp', transport: 'hopopt', packets: 512, bytes: 32768 });
    assert.deepEqual(doc.source, { port: 0 });
    assert.deepEqual(doc.destination, { port: 0 });
    assert.equal('related' in doc, false);
    assert.deepEqual(doc.goflow2, { next_hop: '', bgp_next_hop: '', src_net: 'invalid Prefix' });
    // "" etype and sampler are skipped too
    const other = mapOne(line({ ...BASE, etype: '', sampler_address: '' }));
    assert.equal('type' in other.network, false);
    assert.equal('ip' in other.observer, false);
    assert.equal('goflow2' in other, false);
  });

  it('v4-mapped addresses are validated and kept as written', () => {
    const doc = mapOne(line({ ...BASE, src_addr: '::ffff:81.2.69.193', dst_addr: '2001:db8::1' }));
    assert.equal(doc.source.ip, '::ffff:81.2.69.193');
    assert.deepEqual(doc.source.address, ['::ffff:81.2.69.193']);
    assert.deepEqual(doc.related.ip, ['::ffff:81.2.69.193', '2001:db8::1']);
    // Elasticsearch ignores an IPv6 zone, even an empty one
    assert.equal(mapOne(line({ ...BASE, src_addr: 'fe80::1%eth0' })).source.ip, 'fe80::1%eth0');
    assert.equal(mapOne(line({ ...BASE, src_addr: 'fe80::1%' })).source.ip, 'fe80::1%');
  });

  it('related.ip keeps duplicates (src == dst) and never holds the sampler', () => {
    const doc = mapOne(line({ ...BASE, src_addr: '81.2.69.193', dst_addr: '81.2.69.193' }));
    assert.deepEqual(doc.related.ip, ['81.2.69.193', '81.2.69.193']);
  });

  it('nested leftovers beyond 2^53 stay exact too', () => {
    const text = line({
      ...BASE,
      bgp_communities: [18446744073709551615n, 1],
      custom: { ns: 1722384059314999999n },
    });
    const [d] = normalizer().map(text, FILE);
    assert.ok(
      JSON.stringify(d.doc).includes(
        '"goflow2":{"bgp_communities":[18446744073709551615,1],"custom":{"ns":1722384059314999999}}',
      ),
    );
  });

  it('leftovers keep their JSON types; ids become strings, ports and counters stay integers', () => {
    const doc = mapOne(
      line({ ...BASE, ip_ttl: 64, mpls_label: [16, 17], src_mac: '00:00:00:00:00:00', custom: { a: 1 } }),
    );
    assert.deepEqual(doc.goflow2, {
      ip_ttl: 64,
      mpls_label: [16, 17],
      src_mac: '00:00:00:00:00:00',
      custom: { a: 1 },
    });
    assert.equal(doc.observer.ingress.interface.id, '561');
    assert.equal(doc.observer.ingress.vlan.id, '1500');
    assert.equal(doc.source.port, 6097);
    assert.equal(doc.sflow.sequence_num, 1022);
  });

  it('a flow_size key of the line is renamed to network.bytes when step 9 does not run', () => {
    assert.equal(mapOne(line({ ...BASE, bytes: '', flow_size: 5 })).network.bytes, 5);
    assert.equal(mapOne(line({ ...BASE, flow_size: 5 })).network.bytes, 140000);
  });

  it('datetimenano on time_received_ns only is harmless: a string leftover', () => {
    const doc = mapOne(line({ ...BASE, time_received_ns: '2024-07-31T00:00:59.483524068Z' }));
    assert.equal(doc.goflow2.time_received_ns, '2024-07-31T00:00:59.483524068Z');
    assert.equal(doc['@timestamp'], '2024-07-31T00:00:59.483Z');
  });

  it('a NetFlow line maps alike: sampling_rate 0 gives network.bytes 0', () => {
    const doc = mapOne(line({ ...BASE, type: 'NETFLOW_V9', sampling_rate: 0 }));
    assert.equal(doc.event.action, 'NETFLOW_V9');
    assert.deepEqual([doc.network.packets, doc.network.bytes, doc.sflow.sample_rate], [0, 0, 0]);
  });
});

describe('deliberate departures (GOFLOW2.md 2.6)', () => {
  it('bytes * sampling_rate is exact where Painless wraps at 32 bits', () => {
    assert.equal(mapOne(line({ ...BASE, bytes: 9000, sampling_rate: 262144 })).network.bytes, 2_359_296_000);
    assert.equal(
      mapOne(line({ ...BASE, bytes: 1518, sampling_rate: 2_000_000 })).network.bytes,
      3_036_000_000,
    );
  });

  it('beyond 2^53 the product is exact in the JSON text; beyond 2^63-1 network.bytes is dropped and counted', () => {
    const n = normalizer();
    const [exact] = n.map(line({ ...BASE, bytes: 4611686018427387903n, sampling_rate: 2 }), FILE);
    assert.ok(JSON.stringify(exact.doc).includes('"bytes":9223372036854775806}'));
    assert.equal(n.stats.overflow, 0);

    const [over] = n.map(line({ ...BASE, bytes: 9223372036854775807n, sampling_rate: 2 }), FILE);
    const doc = parseExact(JSON.stringify(over.doc));
    assert.equal(over.failedTag, undefined);
    assert.equal('bytes' in doc.network, false);
    assert.equal(doc.sflow.bytes, 9223372036854775807n);
    assert.equal(n.stats.overflow, 1);
    // negative products have the same bound
    n.map(line({ ...BASE, bytes: -9223372036854775807n, sampling_rate: 2 }), FILE);
    assert.equal(n.stats.overflow, 2);
    // a double operand multiplies as doubles
    assert.equal(mapOne(line({ ...BASE }).replace('"bytes":70', '"bytes":1.5')).network.bytes, 3000);
  });

  const A = line({ ...BASE, src_port: 1, note: 'é}{"' });
  const B = line({ ...BASE, src_port: 2 });

  it('{A}{B} is split: each part its own document, event.original, log.offset (bytes) and id', () => {
    const n = normalizer({ preserveOriginalEvent: true });
    const text = `${A}${B}`;
    const docs = n.map(text, { ...FILE, offset: 1000 });
    assert.deepEqual(
      docs.map((d) => [d.part, d.offsetDelta, (d.doc.log as Json).offset, (d.doc.event as Json).original]),
      [
        [0, 0, 1000, A],
        [1, Buffer.byteLength(A), 1000 + Buffer.byteLength(A), B],
      ],
    );
    assert.equal(Buffer.byteLength(A), A.length + 1); // é is two bytes
    assert.deepEqual(
      docs.map((d) => (d.doc.source as Json).port),
      [1, 2],
    );
    assert.equal(n.stats.splitLines, 1);
    const ids = docs.map((d) => documentId('goflow2-sflow', 'f'.repeat(64), 1000, d.part, text));
    assert.notEqual(ids[0], ids[1]);
  });

  it('whitespace between parts is skipped; three parts; a bad part fails alone', () => {
    const docs = normalizer().map(`${A} \t${B}{"type":"x"}`, FILE);
    assert.deepEqual(
      docs.map((d) => [d.part, d.offsetDelta, d.failedTag]),
      [
        [0, 0, undefined],
        [1, Buffer.byteLength(A) + 2, undefined],
        [2, Buffer.byteLength(A) + 2 + B.length, STEP_TAGS.timeFlowStart],
      ],
    );
    const dup = normalizer().map(`${A}{"a":1,"a":2}`, FILE);
    assert.deepEqual(
      dup.map((d) => d.failedTag),
      [undefined, STEP_TAGS.json],
    );
  });

  it('split_concatenated_json: false gives one step-5 failure for the whole line (parity)', () => {
    const text = `${A}${B}`;
    const n = normalizer({ splitConcatenatedJson: false });
    const docs = n.map(text, FILE);
    assert.equal(docs.length, 1);
    assert.equal(docs[0].failedTag, STEP_TAGS.json);
    assert.equal(docs[0].doc.message, text);
    assert.equal(n.stats.splitLines, 0);
  });

  it('a line that is not only complete objects is not split: one failure document', () => {
    for (const text of [`${A}${B}x`, `${A}${B.slice(0, -1)}`, `${A}[1]`, `${A}}`]) {
      const docs = normalizer().map(text, FILE);
      assert.equal(docs.length, 1, text);
      assert.equal(docs[0].failedTag, STEP_TAGS.json, text);
      assert.equal(docs[0].doc.message, text);
    }
  });

  it('one object with surrounding whitespace is one part: event.original is the line as read', () => {
    const text = ` ${B}\t`;
    const [d] = normalizer({ preserveOriginalEvent: true }).map(text, FILE);
    assert.equal(d.failedTag, undefined);
    assert.equal((d.doc.event as Json).original, text);
  });
});

describe('agent-side fields (GOFLOW2.md 2.7)', () => {
  it('filestream: input.type, log.file.{path,device_id,inode,fingerprint}, log.offset', () => {
    const doc = mapOne(
      line(BASE),
      {},
      {
        input: 'filestream',
        path: PATH,
        offset: 317,
        device_id: '66306',
        inode: '18446744073709551615',
        fingerprint: 'ab'.repeat(32),
      },
    );
    assert.deepEqual(doc.input, { type: 'filestream' });
    assert.deepEqual(doc.log, {
      file: { path: PATH, device_id: '66306', inode: '18446744073709551615', fingerprint: 'ab'.repeat(32) },
      offset: 317,
    });
  });

  it('stdin: input.type stdin, no log.*', () => {
    const doc = mapOne(line(BASE), {}, { input: 'stdin', path: PATH, offset: 5 });
    assert.deepEqual(doc.input, { type: 'stdin' });
    assert.equal('log' in doc, false);
  });

  it('data_stream, event.dataset, ecs.version; namespace option', () => {
    const doc = mapOne(line(BASE), { namespace: 'prod' });
    assert.deepEqual(doc.data_stream, { dataset: 'goflow2.sflow', namespace: 'prod', type: 'logs' });
    assert.equal(doc.event.dataset, 'goflow2.sflow');
    assert.deepEqual(doc.ecs, { version: '8.17.0' });
  });

  it('tags: configured order, then preserve_original_event once; event.original kept only with it', () => {
    const plain = mapOne(line(BASE));
    assert.deepEqual(plain.tags, ['sflow', 'forwarded']);
    assert.equal('original' in plain.event, false);
    const kept = mapOne(line(BASE), { preserveOriginalEvent: true });
    assert.deepEqual(kept.tags, ['sflow', 'forwarded', 'preserve_original_event']);
    assert.equal(kept.event.original, line(BASE));
    const once = mapOne(line(BASE), { tags: ['preserve_original_event', 'x'], preserveOriginalEvent: true });
    assert.deepEqual(once.tags, ['preserve_original_event', 'x']);
    // the tag alone, configured, is what step 50 looks at
    assert.equal(once.event.original, line(BASE));
  });

  it('host.name only without the forwarded tag', () => {
    assert.equal('host' in mapOne(line(BASE)), false);
    assert.deepEqual(mapOne(line(BASE), { tags: ['sflow'] }).host, { name: 'test-host' });
  });

  it('agent.*: only when configured; type flowship, name defaulting to the host name', () => {
    assert.equal('agent' in mapOne(line(BASE)), false);
    assert.deepEqual(
      mapOne(line(BASE), { agent: { version: '0.1.0', id: 'id-1', ephemeral_id: 'eph-1' } }).agent,
      {
        ephemeral_id: 'eph-1',
        id: 'id-1',
        name: 'test-host',
        type: 'flowship',
        version: '0.1.0',
      },
    );
    assert.equal(mapOne(line(BASE), { agent: { name: 'edge-1' } }).agent.name, 'edge-1');
  });

  it('@timestamp is the read time until step 10 replaces it', () => {
    assert.equal(failing('{', 'json', STEP_TAGS.json)['@timestamp'], READ_ISO);
    assert.equal(mapOne(line(BASE))['@timestamp'], '2024-07-31T00:00:59.483Z');
  });

  it('an empty line gives no document (filestream skips it)', () => {
    assert.deepEqual(normalizer().map('', FILE), []);
  });
});

describe('event.timezone (add_locale)', () => {
  const zoneOf = (timezone: string, now = READ_TIME, format?: 'offset' | 'abbreviation' | 'none') =>
    mapOne(line(BASE), { timezone, timezoneFormat: format, clock: { now: () => now } }).event.timezone;

  it('±HH:MM of the configured zone', () => {
    assert.equal(zoneOf('UTC'), '+00:00');
    assert.equal(zoneOf('Asia/Kolkata'), '+05:30');
    assert.equal(zoneOf('America/St_Johns', Date.UTC(2026, 0, 15)), '-03:30');
    assert.equal(zoneOf('Asia/Kathmandu'), '+05:45');
  });

  it('the zone at processing time, not event time: DST shows up within a minute', async () => {
    // Europe/Berlin moves to CEST at 2026-03-29T01:00:00Z
    const clock = new ManualClock(Date.UTC(2026, 2, 29, 0, 59, 30));
    const n = new Goflow2Normalizer({ timezone: 'Europe/Berlin', clock });
    const zone = () => ((n.map(line(BASE), FILE)[0] as Goflow2Document).doc.event as Json).timezone;
    assert.equal(zone(), '+01:00');
    await clock.advance(45_000); // 01:00:15Z: CEST, but computed 45 s ago
    assert.equal(zone(), '+01:00');
    await clock.advance(15_000); // a minute after the last computation
    assert.equal(zone(), '+02:00');
  });

  it('abbreviation (ICU names) and none', () => {
    assert.equal(zoneOf('UTC', READ_TIME, 'abbreviation'), 'UTC');
    assert.equal(zoneOf('Asia/Kolkata', READ_TIME, 'abbreviation'), 'GMT+5:30');
    assert.equal(zoneOf('UTC', READ_TIME, 'none'), undefined);
  });

  it('local follows the process zone; an unknown zone is a configuration error', () => {
    const local = new Intl.DateTimeFormat('en-US', { timeZoneName: 'longOffset' })
      .formatToParts(READ_TIME)
      .find((p) => p.type === 'timeZoneName')!.value;
    const expected = /^GMT[+-]/.test(local) ? local.slice(3, 9) : '+00:00';
    assert.equal(zoneOf('local'), expected);
    assert.throws(() => new Goflow2Normalizer({ timezone: 'Mars/Olympus' }), { code: 'FLOWSHIP_CONFIG' });
  });
});
