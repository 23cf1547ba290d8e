import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { IeType } from '../../../../src/inputs/netflow/fields/types.ts';
import {
  parseYamlDictionary,
  type YamlFieldEntry,
} from '../../../../src/inputs/netflow/fields/yaml-dictionary.ts';
import { FlowshipError } from '../../../../src/util/errors.ts';

const reference = (file: string): string =>
  readFileSync(new URL(`../../../../fixtures/reference/${file}`, import.meta.url), 'utf8');

const find = (entries: readonly YamlFieldEntry[], pen: number, id: number): YamlFieldEntry | undefined =>
  entries.find((e) => e.pen === pen && e.id === id);

function rejects(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseYamlDictionary(text, { source: 'defs.yml', duplicates: 'error' }),
    (err: unknown) => {
      assert.ok(err instanceof FlowshipError);
      assert.equal(err.code, 'FLOWSHIP_CUSTOM_DEFINITIONS');
      assert.match(err.message, /^defs\.yml/);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const one = (type: string): YamlFieldEntry => {
  const [entry] = parseYamlDictionary(`1:\n- ${type}\n- :f\n`, { source: 't', duplicates: 'error' });
  return entry!;
};

test('shipped ipfix.yaml: 1362 entries, the duplicate Gigamon id collapsed', () => {
  const entries = parseYamlDictionary(reference('ipfix.yaml'), {
    source: 'ipfix.yaml',
    duplicates: 'last-wins',
  });
  assert.equal(entries.length, 1362);
  assert.deepEqual(find(entries, 0, 1), { pen: 0, id: 1, type: 'unsigned64', name: 'octetDeltaCount' });
  assert.deepEqual(find(entries, 0, 210), { pen: 0, id: 210, type: 'skip', name: '' });
  assert.deepEqual(find(entries, 26866, 2250), {
    pen: 26866,
    id: 2250,
    type: 'string',
    name: 'http2_user_agent',
  });
  // Names written without the leading colon, and a trailing space in the source.
  assert.equal(find(entries, 10704, 3)?.name, 'TrafficType');
  assert.equal(find(entries, 9789, 4)?.name, 'flowDirection');
  assert.equal(find(entries, 5951, 538)?.type, 'unsigned16'); // uint15
});

test('shipped ipfix.yaml is rejected when duplicates are errors, naming PEN and id', () => {
  assert.throws(
    () => parseYamlDictionary(reference('ipfix.yaml'), { source: 'ipfix.yaml', duplicates: 'error' }),
    /^FlowshipError: ipfix\.yaml:\d+: PEN 26866 id 2250: defined twice$/m,
  );
});

test('shipped netflow.yaml: v9 shape, byte lengths and Logstash-only types', () => {
  // It repeats id 183 too (tcp_dst_port, then tcpDestinationPort).
  assert.throws(
    () => parseYamlDictionary(reference('netflow.yaml'), { source: 'netflow.yaml', duplicates: 'error' }),
    /netflow\.yaml:420: PEN 0 id 183: defined twice/,
  );
  const entries = parseYamlDictionary(reference('netflow.yaml'), {
    source: 'netflow.yaml',
    duplicates: 'last-wins',
  });
  assert.equal(entries.length, 432);
  assert.equal(find(entries, 0, 183)?.name, 'tcpDestinationPort');
  assert.ok(entries.every((e) => e.pen === 0));
  assert.deepEqual(find(entries, 0, 1), { pen: 0, id: 1, type: 'unsigned32', name: 'in_bytes' }); // [4, :in_bytes]
  assert.equal(find(entries, 0, 10)?.type, 'unsigned16'); // [2, :input_snmp]
  assert.equal(find(entries, 0, 31)?.type, 'unsigned64'); // uint24, as Filebeat decodes it
  assert.deepEqual(find(entries, 0, 201), { pen: 0, id: 201, type: 'skip', name: 'mpls_label_stack_octets' });
  assert.equal(find(entries, 0, 89)?.type, 'skip'); // forwarding_status
  assert.deepEqual(find(entries, 0, 33001), { pen: 0, id: 33001, type: 'aclIdAsa', name: 'egress_acl_id' });
});

test('every Logstash type name maps to its IE type', () => {
  const expected: Record<string, IeType> = {
    uint8: 'unsigned8',
    uint15: 'unsigned16',
    uint16: 'unsigned16',
    uint24: 'unsigned64',
    uint32: 'unsigned32',
    uint64: 'unsigned64',
    int8: 'signed8',
    int15: 'signed16',
    int16: 'signed16',
    int24: 'signed64',
    int32: 'signed32',
    int64: 'signed64',
    float: 'float32',
    double: 'float64',
    ip4_addr: 'ipv4Address',
    ip4addr: 'ipv4Address',
    ip6_addr: 'ipv6Address',
    ip6addr: 'ipv6Address',
    mac_addr: 'macAddress',
    macaddr: 'macAddress',
    string: 'string',
    octet_array: 'octetArray',
    octetarray: 'octetArray',
    acl_id_asa: 'aclIdAsa',
    mpls_label_stack_octets: 'skip',
    application_id: 'skip',
    forwarding_status: 'skip',
  };
  for (const [name, type] of Object.entries(expected)) {
    assert.equal(one(`:${name}`).type, type, name);
    assert.equal(one(name).type, type, `${name} without colon`);
  }
});

test('an integer type is the byte length of an unsigned, 0 meaning 4', () => {
  const byLength: IeType[] = [
    'unsigned32',
    'unsigned8',
    'unsigned16',
    'unsigned64',
    'unsigned32',
    'unsigned64',
    'unsigned64',
    'unsigned64',
    'unsigned64',
  ];
  for (const [length, type] of byLength.entries())
    assert.equal(one(String(length)).type, type, `length ${length}`);
  rejects('1:\n- 9\n- :f\n', /PEN 0 id 1: unknown type "9"/);
  rejects('1:\n- -1\n- :f\n', /PEN 0 id 1: unknown type "-1"/);
});

test('[:skip] and [skip] define nothing; a name given with skip is dropped', () => {
  const entries = parseYamlDictionary('1:\n- :skip\n2:\n- skip\n3: [":skip", ":x"]\n', {
    source: 't',
    duplicates: 'error',
  });
  assert.deepEqual(
    entries.map((e) => [e.id, e.type, e.name]),
    [
      [1, 'skip', ''],
      [2, 'skip', ''],
      [3, 'skip', ''],
    ],
  );
});

test('IPFIX shape: PEN -> id -> entry, document order kept', () => {
  const entries = parseYamlDictionary(
    '25461:\n  2:\n  - :string\n  - :panUser\n  1: [":uint32", ":panId"]\n0:\n  5: [uint8, tos]\n',
    {
      source: 't',
      duplicates: 'error',
    },
  );
  assert.deepEqual(entries, [
    { pen: 25461, id: 2, type: 'string', name: 'panUser' },
    { pen: 25461, id: 1, type: 'unsigned32', name: 'panId' },
    { pen: 0, id: 5, type: 'unsigned8', name: 'tos' },
  ]);
});

test('last-wins: a repeated PEN replaces the earlier PEN map, as a YAML loader would', () => {
  const text = '9:\n  1: [uint8, a]\n  2: [uint8, b]\n9:\n  2: [uint16, c]\n';
  assert.deepEqual(parseYamlDictionary(text, { source: 't', duplicates: 'last-wins' }), [
    { pen: 9, id: 2, type: 'unsigned16', name: 'c' },
  ]);
  rejects(text.replace(/^9/, '9'), /PEN 9 appears twice/);
});

test('ids may be written as digit strings; the same id twice is an error either way', () => {
  assert.equal(parseYamlDictionary('"7": [uint8, a]\n', { source: 't', duplicates: 'error' })[0]?.id, 7);
  rejects('7: [uint8, a]\n"7": [uint8, b]\n', /:2: PEN 0 id 7: defined twice/);
  rejects('0:\n  7: [uint8, a]\n  0x7: [uint8, b]\n', /PEN 0 id 7: defined twice/);
});

test('errors name the file, the line, the PEN/id and the problem', () => {
  rejects('1:\n- :uint8\n- :a\n2:\n  3: [uint8, b]\n', /mixes NetFlow v9 definitions .* IPFIX definitions/);
  rejects('9:\n  1:\n  - :uint9\n  - :a\n', /^defs\.yml:3: PEN 9 id 1: unknown type "uint9"$/);
  rejects('1: [uint8]\n', /PEN 0 id 1: expected \[type, name\]; only :skip stands alone/);
  rejects('1: [uint8, a, b]\n', /PEN 0 id 1: expected \[type, name\] or \[:skip\]/);
  rejects('1: [uint8, ""]\n', /PEN 0 id 1: name must be a non-empty string/);
  rejects('1: [uint8, [a]]\n', /PEN 0 id 1: expected \[type, name\] or \[:skip\]/);
  rejects('9:\n  1: uint8\n', /PEN 9 id 1: expected \[type, name\] or \[:skip\]/);
  rejects('1: uint8\n', /top-level key 1 must be a list or a mapping/);
  rejects('70000: [uint8, a]\n', /element id 70000 is not an integer 0-65535/);
  rejects('abc:\n  1: [uint8, a]\n', /PEN "abc" is not an integer/);
  rejects('4294967296:\n  1: [uint8, a]\n', /PEN 4294967296 is not an integer/);
  rejects('- [uint8, a]\n', /expected a mapping of element ids/);
  rejects('', /expected a mapping of element ids/);
  rejects('1: [uint8, a\n', /invalid YAML/);
});

test('an empty mapping defines nothing', () => {
  assert.deepEqual(parseYamlDictionary('{}\n', { source: 't', duplicates: 'error' }), []);
});

test('aliases resolve', () => {
  const entries = parseYamlDictionary('1: &u [uint16, port]\n2: *u\n', { source: 't', duplicates: 'error' });
  assert.deepEqual(
    entries.map((e) => [e.id, e.name]),
    [
      [1, 'port'],
      [2, 'port'],
    ],
  );
});
