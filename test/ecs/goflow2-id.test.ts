/**
 * Document ids (TAILER.md 7.5): stable across runs and inputs of the same bytes, distinct when any
 * component differs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { documentId } from '../../src/ecs/goflow2-id.ts';

const LINE =
  '{"type":"SFLOW_5","time_flow_start_ns":1722384059314899647,"sampler_address":"67.43.156.1","sequence_num":44555,"in_if":563,"out_if":573,"src_addr":"216.160.83.57","dst_addr":"216.160.83.58","etype":"IPv4","proto":"TCP","src_port":10876,"dst_port":443,"src_vlan":1500,"dst_vlan":1500,"sampling_rate":1000,"bytes":70}';
const FINGERPRINT = 'a'.repeat(64);

describe('documentId', () => {
  it('is base64url of the first 20 bytes of SHA-256(id 00 fingerprint 00 offset 00 part 00 SHA-256(line))', () => {
    const lineDigest = createHash('sha256').update(Buffer.from(LINE, 'utf8')).digest();
    const input = Buffer.concat([
      Buffer.from(['goflow2-sflow', FINGERPRINT, '317', '2', ''].join('\x00'), 'utf8'),
      lineDigest,
    ]);
    const expected = createHash('sha256').update(input).digest().subarray(0, 20).toString('base64url');
    assert.equal(documentId('goflow2-sflow', FINGERPRINT, 317, 2, LINE), expected);
  });

  it('is stable: a pinned value (checked with Python hashlib), and the same for the line as text or as bytes, number or bigint offset', () => {
    const id = documentId('goflow2-sflow', FINGERPRINT, 0, 0, LINE);
    assert.equal(id, 'wuN5cK6ibemmDhh7_JNhgbDih-c');
    assert.match(id, /^[A-Za-z0-9_-]{27}$/);
    assert.equal(documentId('goflow2-sflow', FINGERPRINT, 0n, 0, Buffer.from(LINE)), id);
    assert.equal(documentId('goflow2-sflow', FINGERPRINT, 0, 0, new TextEncoder().encode(LINE)), id);
  });

  it('differs when any component differs, and components cannot run into each other', () => {
    const base = ['goflow2-sflow', FINGERPRINT, 2819, 0, LINE] as const;
    const variants: Parameters<typeof documentId>[] = [
      [...base],
      ['goflow2-other', base[1], base[2], base[3], base[4]],
      [base[0], 'b'.repeat(64), base[2], base[3], base[4]],
      [base[0], base[1], 2820, base[3], base[4]],
      [base[0], base[1], base[2], 1, base[4]],
      [base[0], base[1], base[2], base[3], `${LINE} `],
      // the same characters split differently between offset and part
      [base[0], base[1], 281, 90, base[4]],
      [base[0], base[1], 28190, 0, base[4]],
      ['goflow2-sflow' + 'a', FINGERPRINT.slice(1), base[2], base[3], base[4]],
    ];
    const ids = new Set(variants.map((v) => documentId(...v)));
    assert.equal(ids.size, variants.length);
  });
});
