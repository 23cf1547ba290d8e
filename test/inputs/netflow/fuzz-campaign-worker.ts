/**
 * The NetFlow/IPFIX fuzz campaign of fuzz-campaign.test.ts, run in a worker thread so that the
 * test can terminate it when a packet never returns (a synchronous loop cannot be timed out in
 * its own thread).
 *
 * One long-lived decoder (and normalizer) takes `packets` datagrams from several simulated
 * exporters, each decoded, then every record normalized to its document's JSON text, as the input does
 * per datagram. The datagrams, all from one seeded generator (no Math.random):
 *
 *   unmodified   the next packet of the exporter's capture, in capture order, so that templates
 *                are learned and the data after them meets them
 *   mutated      that packet with 1-3 of: byte flips, "interesting" 16/32-bit values, truncation,
 *                junk appended, bytes inserted or deleted, sets reordered / duplicated / dropped,
 *                data set bodies replaced by random bytes (learned templates meet random data),
 *                sequence number, source id / observation domain or count changed
 *   random       random bytes behind a valid version number (sometimes any version), legacy
 *                packets of a consistent length, and v9 / IPFIX envelopes around random
 *                templates and random data sets under template ids the captures use
 *
 * The injected clock advances per packet (now and then by minutes) so that template expiry and
 * pending-age sweeps run.
 *
 * Before each packet its index, exporter and bytes are written to the shared buffer
 * `workerData.current`: when the worker hangs, the test reads the packet from there. Every
 * `progressEvery` packets the worker posts the decoder's gauges; on the way it takes the heap
 * after a full GC at 20, 40, 60, 80 and 100% of the campaign. Anything a decode throws but a
 * DecodeError, an exception from the normalizer, a document text that is not what JSON.stringify
 * writes of its own parse (invalid JSON, a repeated member), or a consumed count out of the
 * datagram is a failure: the first ten are posted (packet index and hex, exporter, error)
 * and the campaign goes on, as the input would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { parseNetworks } from '../../../src/ecs/locality.ts';
import { NetflowNormalizer } from '../../../src/ecs/netflow.ts';
import { nextV9Start, splitDat } from '../../../src/inputs/netflow/capture/dat.ts';
import { readPcap } from '../../../src/inputs/netflow/capture/pcap.ts';
import { NetflowDecoder, replayedRecords } from '../../../src/inputs/netflow/decoder/decoder.ts';
import type { ExporterAddress } from '../../../src/inputs/netflow/decoder/legacy.ts';
import type { PendingOptions } from '../../../src/inputs/netflow/decoder/pending.ts';
import type { DecoderStats, SessionLimits } from '../../../src/inputs/netflow/decoder/session.ts';
import type { DecodedRecord } from '../../../src/inputs/netflow/decoder/types.ts';
import { buildDictionary } from '../../../src/inputs/netflow/fields/dictionary.ts';
import type { Compatibility } from '../../../src/inputs/netflow/fields/types.ts';
import { parseDocument } from '../../../src/pipeline/event.ts';
import { DecodeError } from '../../../src/util/errors.ts';

export interface CampaignConfig {
  readonly seed: number;
  readonly packets: number;
  readonly compatibility: Compatibility;
  readonly progressEvery: number;
  readonly limits: SessionLimits;
  readonly pending: PendingOptions;
  readonly expirationTimeoutMs: number;
  /**
   * The packet being decoded: 3 Int32 slots (index, exporter or -1 for the spoofer, length), then
   * its bytes (as many as fit).
   */
  readonly current: SharedArrayBuffer;
}

/** The decoder's gauges the caps bound. */
export interface Gauges {
  readonly sessions: number;
  readonly templates: number;
  readonly templateFields: number;
  readonly pendingBytes: number;
  readonly pendingSets: number;
}

export interface HeapSample {
  readonly at: number;
  /** V8 used_heap_size. */
  readonly bytes: number;
  /** V8 external_memory: Buffer and ArrayBuffer backing stores of this thread. */
  readonly external: number;
}

export interface Failure {
  readonly index: number;
  readonly exporter: string;
  readonly message: string;
  readonly hex: string;
}

export interface CampaignSummary {
  /** Packets decoded, their records normalized and serialized. */
  readonly packets: number;
  readonly kinds: Record<string, number>;
  readonly records: number;
  /** Records by the kind of packet that carried them (or taught the template of a pending one). */
  readonly recordsByKind: Record<string, number>;
  /** Records by export version: v9 and IPFIX ones met a template. */
  readonly recordsByVersion: Record<string, number>;
  readonly documents: number;
  readonly jsonBytes: number;
  readonly decodeErrors: Record<string, number>;
  /** Largest value of each gauge after any packet. */
  readonly maxGauges: Gauges;
  readonly finalGauges: Gauges;
  /** Memory after a full GC at 20/40/60/80/100% of the campaign (`at`: packets done). */
  readonly heap: readonly HeapSample[];
  readonly elapsedMs: number;
  readonly stats: DecoderStats;
  readonly exporters: number;
  readonly corpusPackets: number;
}

export type CampaignMessage =
  | { readonly type: 'progress'; readonly done: number; readonly gauges: Gauges }
  | { readonly type: 'failure'; readonly failure: Failure }
  | { readonly type: 'done'; readonly summary: CampaignSummary };

/** mulberry32: a small seeded generator, deterministic across runs and platforms. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }
  chance(p: number): boolean {
    return this.u32() < p * 0x1_0000_0000;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

const FIXTURES = new URL('../../../fixtures/netflow/', import.meta.url);
const SCRATCH_FROM: ExporterAddress = { ip: '192.0.2.250', address: '192.0.2.250:2055' };

/**
 * Every capture as its export packets in order: a .dat file's packets (its v9 packets split where
 * the decoder's flowset parsing stops, as `flowship decode` does), a pcap's UDP payloads.
 */
function corpus(): Buffer[][] {
  const groups: Buffer[][] = [];
  for (const name of readdirSync(new URL('dat/', FIXTURES)).sort()) {
    const scratch = new NetflowDecoder({
      dictionary: buildDictionary({ compatibility: 'extended' }),
      expirationTimeoutMs: 0,
    });
    const packets: Buffer[] = [];
    for (const p of splitDat(readFileSync(new URL(`dat/${name}`, FIXTURES)))) {
      let rest = Buffer.from(p);
      if (rest.length < 2 || rest.readUInt16BE(0) !== 9) {
        packets.push(rest);
        continue;
      }
      for (;;) {
        let next: number | undefined;
        try {
          next = nextV9Start(rest, scratch.decode(rest, SCRATCH_FROM).consumed);
        } catch {
          next = undefined;
        }
        packets.push(next === undefined ? rest : Buffer.from(rest.subarray(0, next)));
        if (next === undefined) break;
        rest = Buffer.from(rest.subarray(next));
      }
    }
    groups.push(packets);
  }
  for (const name of readdirSync(new URL('pcap/', FIXTURES)).sort()) {
    const data = readFileSync(new URL(`pcap/${name}`, FIXTURES));
    groups.push([...readPcap(data, name)].map((d) => Buffer.from(d.payload)));
  }
  return groups.filter((g) => g.length > 0);
}

/** Simulated exporters: IPv4 and IPv6, two ports of one address. */
const EXPORTERS: readonly ExporterAddress[] = [
  { ip: '192.0.2.1', address: '192.0.2.1:2055' },
  { ip: '192.0.2.1', address: '192.0.2.1:2056' },
  { ip: '198.51.100.7', address: '198.51.100.7:9995' },
  { ip: '203.0.113.200', address: '203.0.113.200:4739' },
  { ip: '10.1.2.3', address: '10.1.2.3:2055' },
  { ip: '172.16.0.9', address: '172.16.0.9:6343' },
  { ip: '2001:db8::1', address: '[2001:db8::1]:4739' },
  { ip: '2001:db8:ffff::42', address: '[2001:db8:ffff::42]:2055' },
];
/** A sender changing its source port per datagram: sessions beyond the cap, evictions. */
const SPOOFER_IP = '192.0.2.99';

const VERSIONS = [1, 5, 6, 7, 8, 9, 10];
const INTERESTING16 = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x101, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0xffff, 0x10000];
/** Information elements with their own decoding or normalizing paths, and some without. */
const IE_IDS = [
  1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 14, 15, 21, 22, 27, 28, 29, 30, 32, 34, 35, 48, 49, 50, 56, 57, 58, 61, 62,
  80, 81, 82, 83, 85, 86, 88, 89, 94, 95, 96, 136, 148, 150, 151, 152, 153, 154, 155, 156, 157, 160, 176, 177,
  210, 225, 226, 227, 228, 233, 234, 235, 291, 292, 293, 305, 306, 309, 310, 313, 315, 322, 323, 324, 325,
  346, 351, 352, 353, 354, 355, 356, 357, 358, 359, 360, 361, 362, 363, 364, 365, 366, 367, 368, 369, 370,
  371, 372, 373, 374, 375, 376, 377, 378, 379, 380, 381, 382, 383, 384, 385, 386, 387, 388, 389, 390, 391,
  392, 393, 394, 395, 396, 397, 398, 399, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412,
  413, 414, 415, 416, 417, 418, 419, 420, 421, 422, 423, 424, 425, 426, 427, 428, 429, 430, 431, 432, 433,
];
const PENS = [9, 2011, 3076, 6871, 29305, 41916, 35632, 8741, 12356];
const FIELD_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 32, 0xffff];
const TEMPLATE_IDS = [256, 257, 258, 259, 260, 261, 262, 263, 264, 266, 267, 271, 512, 3281];

interface Cursor {
  group: number;
  pos: number;
  sequence: number;
}

const config = workerData as CampaignConfig;
const rng = new Rng(config.seed);
const groups = corpus();
const cursors: Cursor[] = EXPORTERS.map(() => ({ group: rng.int(groups.length), pos: 0, sequence: 0 }));
let nowMs = 1_700_000_000_000;

const decoder = new NetflowDecoder({
  dictionary: buildDictionary({ compatibility: config.compatibility }),
  compatibility: config.compatibility,
  detectSequenceReset: true,
  expirationTimeoutMs: config.expirationTimeoutMs,
  limits: config.limits,
  pending: config.pending,
  now: () => nowMs,
});
const extended = config.compatibility === 'extended';
const normalizer = new NetflowNormalizer({
  internalNetworks: parseNetworks(['private']),
  now: () => new Date(nowMs),
  absoluteTimes: extended,
  samplingRate: extended,
  scaleCounters: extended,
});

// ---- packet generators -------------------------------------------------------------------------

function nextOriginal(cursor: Cursor): Buffer {
  let group = groups[cursor.group];
  if (cursor.pos >= group.length) {
    cursor.group = rng.int(groups.length);
    cursor.pos = 0;
    group = groups[cursor.group];
  }
  return group[cursor.pos++];
}

function headerSize(version: number): number {
  return version === 9 ? 20 : version === 10 ? 16 : 0;
}

/** The sets of a v9 / IPFIX packet as far as they are well formed, and the rest. */
function splitSets(p: Buffer): { header: Buffer; sets: Buffer[]; tail: Buffer } | undefined {
  if (p.length < 2) return undefined;
  const size = headerSize(p.readUInt16BE(0));
  if (size === 0 || p.length < size) return undefined;
  const sets: Buffer[] = [];
  let off = size;
  while (off + 4 <= p.length) {
    const len = p.readUInt16BE(off + 2);
    if (len < 4 || off + len > p.length) break;
    sets.push(p.subarray(off, off + len));
    off += len;
  }
  return { header: p.subarray(0, size), sets, tail: p.subarray(off) };
}

function joinSets(header: Buffer, sets: readonly Buffer[], tail: Buffer | undefined): Buffer {
  const out = Buffer.concat([header, ...sets, ...(tail === undefined ? [] : [tail])]);
  const version = out.readUInt16BE(0);
  if (version === 10 && rng.chance(0.85)) out.writeUInt16BE(Math.min(out.length, 0xffff), 2);
  if (version === 9 && rng.chance(0.5)) out.writeUInt16BE(sets.length, 2);
  return out;
}

function reshapeSets(p: Buffer): Buffer {
  const parts = splitSets(p);
  if (parts === undefined || parts.sets.length === 0) return p;
  const sets = [...parts.sets];
  switch (rng.int(4)) {
    case 0: // shuffle
      for (let i = sets.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [sets[i], sets[j]] = [sets[j], sets[i]];
      }
      break;
    case 1: {
      // duplicate one set 1-3 times at random places
      const copy = rng.pick(sets);
      for (let n = 1 + rng.int(3); n > 0; n--) sets.splice(rng.int(sets.length + 1), 0, copy);
      break;
    }
    case 2:
      sets.splice(rng.int(sets.length), 1);
      break;
    default:
      sets.reverse();
  }
  return joinSets(parts.header, sets, rng.chance(0.5) ? parts.tail : undefined);
}

/** Data sets (id >= 256) keep their length and get random bodies: learned templates meet random data. */
function randomizeDataSets(p: Buffer): Buffer {
  const parts = splitSets(p);
  if (parts === undefined) return p;
  const out = Buffer.from(p);
  let off = parts.header.length;
  for (const s of parts.sets) {
    if (s.readUInt16BE(0) >= 256) {
      const body = rng.chance(0.2)
        ? Buffer.alloc(s.length - 4, rng.pick([0, 0xff]))
        : rng.bytes(s.length - 4);
      body.copy(out, off + 4);
    }
    off += s.length;
  }
  return out;
}

function writeInteresting(p: Buffer): void {
  if (p.length < 4) return;
  if (rng.chance(0.7)) p.writeUInt16BE(rng.pick(INTERESTING16), 2 + rng.int(p.length - 3));
  else if (p.length >= 6) p.writeUInt32BE(rng.pick(INTERESTING32), 2 + rng.int(p.length - 5));
}

function mutateHeader(p: Buffer, cursor: Cursor): void {
  if (p.length < 4) return;
  const version = p.readUInt16BE(0);
  const field = rng.int(3);
  if (field === 0) {
    // count (v1-v9) or length (IPFIX)
    p.writeUInt16BE(rng.chance(0.5) ? rng.pick(INTERESTING16) : rng.int(0x10000), 2);
    return;
  }
  // sequence: v9 12-15, IPFIX 8-11, v5/v7/v8 16-19; source id / domain: v9 16-19, IPFIX 12-15
  const seqAt = version === 9 ? 12 : version === 10 ? 8 : 16;
  const idAt = version === 9 ? 16 : version === 10 ? 12 : 20;
  const at = field === 1 ? seqAt : idAt;
  if (p.length < at + 4) return;
  let value: number;
  if (field === 1) {
    cursor.sequence = (cursor.sequence + (rng.chance(0.7) ? rng.int(3000) : rng.u32())) >>> 0;
    value = cursor.sequence;
  } else {
    value = rng.chance(0.8) ? rng.int(4) : rng.u32();
  }
  p.writeUInt32BE(value, at);
}

function mutate(original: Buffer, cursor: Cursor): Buffer {
  let p: Buffer = Buffer.from(original);
  for (let ops = 1 + rng.int(3); ops > 0; ops--) {
    switch (rng.int(10)) {
      case 0:
      case 1: {
        // byte flips / random bytes, past the version (rarely the version too)
        const from = rng.chance(0.03) ? 0 : 2;
        if (p.length <= from) break;
        for (let n = 1 + rng.int(8); n > 0; n--) {
          const at = from + rng.int(p.length - from);
          p[at] = rng.chance(0.5) ? p[at] ^ (1 << rng.int(8)) : rng.int(256);
        }
        break;
      }
      case 2:
        writeInteresting(p);
        break;
      case 3:
        p = p.subarray(0, rng.int(p.length + 1));
        break;
      case 4:
        p = Buffer.concat([p, rng.chance(0.3) ? Buffer.alloc(1 + rng.int(64)) : rng.bytes(1 + rng.int(64))]);
        break;
      case 5: {
        // insert or delete a few bytes in the middle: every length after it is off
        const at = 2 + rng.int(Math.max(1, p.length - 1));
        const n = 1 + rng.int(8);
        p = rng.chance(0.5)
          ? Buffer.concat([p.subarray(0, at), rng.bytes(n), p.subarray(at)])
          : Buffer.concat([p.subarray(0, at), p.subarray(at + n)]);
        break;
      }
      case 6:
        p = reshapeSets(p);
        break;
      case 7:
        p = randomizeDataSets(p);
        break;
      default:
        mutateHeader(p, cursor);
    }
  }
  // nothing larger than a UDP datagram
  return p.length > 65_507 ? p.subarray(0, 65_507) : p;
}

function specifier(ipfix: boolean): Buffer {
  const id = rng.chance(0.8) ? rng.pick(IE_IDS) : rng.int(0x8000);
  const length = rng.chance(0.8) ? rng.pick(FIELD_LENGTHS) : rng.int(70);
  const pen = ipfix && rng.chance(0.25);
  const out = Buffer.alloc(pen ? 8 : 4);
  out.writeUInt16BE(pen ? id | 0x8000 : ipfix ? id : rng.chance(0.9) ? id : rng.int(0x10000), 0);
  out.writeUInt16BE(length, 2);
  if (pen) out.writeUInt32BE(rng.chance(0.9) ? rng.pick(PENS) : rng.u32(), 4);
  return out;
}

function randomTemplate(ipfix: boolean, options: boolean, id: number): Buffer {
  const count = rng.int(rng.chance(0.1) ? 200 : 12);
  const specs: Buffer[] = [];
  for (let i = 0; i < count; i++) specs.push(specifier(ipfix));
  const scopes = rng.int(Math.min(count, 4) + 1);
  const head = Buffer.alloc(ipfix && options ? 6 : ipfix || !options ? 4 : 6);
  head.writeUInt16BE(id, 0);
  if (ipfix) {
    head.writeUInt16BE(count, 2);
    if (options) head.writeUInt16BE(rng.chance(0.9) ? scopes : rng.int(0x10000), 4);
    return Buffer.concat([head, ...specs]);
  }
  if (!options) {
    head.writeUInt16BE(count, 2);
    return Buffer.concat([head, ...specs]);
  }
  const scopeBytes = specs.slice(0, scopes).reduce((n, s) => n + s.length, 0);
  const optionBytes = specs.slice(scopes).reduce((n, s) => n + s.length, 0);
  head.writeUInt16BE(rng.chance(0.9) ? scopeBytes : rng.int(0x10000), 2);
  head.writeUInt16BE(rng.chance(0.9) ? optionBytes : rng.int(0x10000), 4);
  return Buffer.concat([head, ...specs]);
}

function set(id: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(Math.min(0xffff, 4 + body.length), 2);
  return Buffer.concat([head, body]);
}

/** A well-formed v9 / IPFIX envelope around random templates and data sets. */
function structuredPacket(cursor: Cursor): Buffer {
  const ipfix = rng.chance(0.5);
  const sets: Buffer[] = [];
  const ids: number[] = [];
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const kind = rng.int(5);
    if (kind < 2) {
      const options = kind === 1;
      const id = rng.chance(0.9) ? rng.pick(TEMPLATE_IDS) : rng.int(0x10000);
      ids.push(id);
      const records: Buffer[] = [];
      for (let r = 1 + rng.int(2); r > 0; r--) records.push(randomTemplate(ipfix, options, id));
      const setId = ipfix ? (options ? 3 : 2) : options ? 1 : 0;
      sets.push(set(setId, Buffer.concat(records)));
    } else if (kind === 2 && ipfix) {
      // withdrawal: a template id with field count 0 (sometimes the all-templates id)
      const body = Buffer.alloc(4);
      body.writeUInt16BE(rng.chance(0.7) ? rng.pick(TEMPLATE_IDS) : rng.pick([2, 3]), 0);
      sets.push(set(rng.pick([2, 3]), body));
    } else {
      const id = ids.length > 0 && rng.chance(0.6) ? rng.pick(ids) : rng.pick(TEMPLATE_IDS);
      sets.push(set(rng.chance(0.95) ? id : rng.int(256), rng.bytes(rng.int(300))));
    }
  }
  const body = Buffer.concat(sets);
  const header = Buffer.alloc(ipfix ? 16 : 20);
  cursor.sequence = (cursor.sequence + (rng.chance(0.9) ? 1 : rng.u32())) >>> 0;
  if (ipfix) {
    header.writeUInt16BE(10, 0);
    header.writeUInt16BE(rng.chance(0.9) ? Math.min(0xffff, 16 + body.length) : rng.int(0x10000), 2);
    header.writeUInt32BE(rng.chance(0.8) ? Math.floor(nowMs / 1000) >>> 0 : rng.u32(), 4);
    header.writeUInt32BE(cursor.sequence, 8);
    header.writeUInt32BE(rng.int(4), 12);
  } else {
    header.writeUInt16BE(9, 0);
    header.writeUInt16BE(rng.int(40), 2);
    header.writeUInt32BE(rng.u32(), 4);
    header.writeUInt32BE(rng.chance(0.8) ? Math.floor(nowMs / 1000) >>> 0 : rng.u32(), 8);
    header.writeUInt32BE(cursor.sequence, 12);
    header.writeUInt32BE(rng.int(4), 16);
  }
  return Buffer.concat([header, body]);
}

const LEGACY_SIZES: Readonly<Record<number, readonly [header: number, record: number]>> = {
  1: [16, 48],
  5: [24, 48],
  6: [24, 52],
  7: [24, 52],
  8: [28, 0],
};

/** Random bytes behind a valid version number. */
function randomPacket(cursor: Cursor): Buffer {
  const kind = rng.int(4);
  if (kind === 0) return structuredPacket(cursor);
  const version = rng.chance(0.03) ? rng.int(0x10000) : rng.pick(VERSIONS);
  let body: Buffer;
  if (kind === 1 && LEGACY_SIZES[version] !== undefined) {
    // a legacy packet whose length matches its count (v8: random aggregation, random length)
    const [header, record] = LEGACY_SIZES[version];
    const count = rng.int(31);
    body = rng.bytes(header - 2 + (record === 0 ? rng.int(1500) : count * record));
    body.writeUInt16BE(count, 0);
    if (version === 8 && rng.chance(0.8)) body[20] = 1 + rng.int(14);
  } else if (kind === 2) {
    // random bytes after a real packet's header
    const real = nextOriginal(cursor);
    body = Buffer.concat([real.subarray(2, Math.min(real.length, 24)), rng.bytes(rng.int(600))]);
  } else {
    body = rng.bytes(rng.int(rng.chance(0.1) ? 9000 : 600));
  }
  const out = Buffer.concat([Buffer.alloc(2), body]);
  out.writeUInt16BE(version, 0);
  return out;
}

// ---- the campaign ------------------------------------------------------------------------------

const post = (m: CampaignMessage) => parentPort?.postMessage(m);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Memory after a full GC: the isolate's heap, and what Buffers and ArrayBuffers hold outside it. */
function heapAfterGc(at: number): HeapSample {
  gc();
  gc();
  const h = getHeapStatistics();
  return { at, bytes: h.used_heap_size, external: h.external_memory };
}

function gauges(): Gauges {
  return {
    sessions: decoder.sessionCount,
    templates: decoder.templateCount,
    templateFields: decoder.stats.templateFields,
    pendingBytes: decoder.stats.pendingBytes,
    pendingSets: decoder.stats.pendingSets,
  };
}

const current = new Int32Array(config.current, 0, 3);
const currentBytes = new Uint8Array(config.current, 12);
const MAX_FAILURES = 10;
const kinds: Record<string, number> = { unmodified: 0, mutated: 0, random: 0 };
const decodeErrors: Record<string, number> = {};
const recordsByKind: Record<string, number> = { unmodified: 0, mutated: 0, random: 0 };
const recordsByVersion: Record<string, number> = {};
const maxGauges: Record<keyof Gauges, number> = {
  sessions: 0,
  templates: 0,
  templateFields: 0,
  pendingBytes: 0,
  pendingSets: 0,
};
const heap: HeapSample[] = [];
const heapMarks = new Set([0.2, 0.4, 0.6, 0.8].map((f) => Math.round(f * config.packets)));
let failures = 0;
/** Packets through the whole per-datagram path. */
let processed = 0;
let records = 0;
let documents = 0;
let jsonBytes = 0;

function fail(index: number, from: ExporterAddress, packet: Buffer, message: string): void {
  if (++failures > MAX_FAILURES) return;
  post({
    type: 'failure',
    failure: { index, exporter: from.address, message, hex: packet.toString('hex') },
  });
}

const describeError = (err: unknown) =>
  err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);

/** The input's per-datagram path: decode, then normalize and serialize every record. */
function processPacket(index: number, packet: Buffer, from: ExporterAddress, kind: string): void {
  let out: readonly DecodedRecord[];
  try {
    const result = decoder.decode(packet, from);
    if (!(result.consumed >= 0 && result.consumed <= packet.length)) {
      fail(index, from, packet, `consumed ${result.consumed} of ${packet.length} bytes`);
    }
    const own =
      result.exporter === undefined
        ? result.records.length
        : result.records.filter((r) => r.exporter === result.exporter).length;
    if (own > packet.length) fail(index, from, packet, `${own} records from ${packet.length} bytes`);
    out = result.records;
  } catch (err) {
    if (!(err instanceof DecodeError)) {
      fail(index, from, packet, `decode threw a non-DecodeError: ${describeError(err)}`);
      return;
    }
    decodeErrors[err.reason] = (decodeErrors[err.reason] ?? 0) + 1;
    out = replayedRecords(err);
  }
  records += out.length;
  recordsByKind[kind] += out.length;
  for (const record of out) {
    try {
      const version = String(record.exporter.version);
      recordsByVersion[version] = (recordsByVersion[version] ?? 0) + 1;
      const text = normalizer.normalizeJson(record);
      // valid JSON, each member once, as JSON.stringify writes it: read back, it serialises the same
      if (JSON.stringify(parseDocument(text)) !== text)
        fail(index, from, packet, `not canonical JSON: ${text}`);
      jsonBytes += text.length;
      documents++;
    } catch (err) {
      let fields: string;
      try {
        fields = JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
      } catch {
        fields = '(record not serializable)';
      }
      fail(index, from, packet, `normalizing threw: ${describeError(err)}\nrecord: ${fields}`);
    }
  }
}

function run(): void {
  const started = performance.now();
  for (let index = 0; index < config.packets; index++) {
    if (heapMarks.has(index)) heap.push(heapAfterGc(index));
    // the clock: 0-100 ms per packet, now and then minutes (expiry sweeps, pending ages out)
    nowMs += rng.chance(0.0005) ? 60_000 * (1 + rng.int(30)) : rng.int(100);
    const spoofed = rng.chance(0.03);
    const exporter = rng.int(EXPORTERS.length);
    const from = spoofed
      ? { ip: SPOOFER_IP, address: `${SPOOFER_IP}:${1024 + rng.int(60_000)}` }
      : EXPORTERS[exporter];
    const cursor = cursors[exporter];
    const roll = rng.int(100);
    const kind = roll < 35 ? 'unmodified' : roll < 80 ? 'mutated' : 'random';
    kinds[kind]++;
    const packet =
      kind === 'unmodified'
        ? nextOriginal(cursor)
        : kind === 'mutated'
          ? mutate(nextOriginal(cursor), cursor)
          : randomPacket(cursor);
    Atomics.store(current, 1, spoofed ? -1 : exporter);
    Atomics.store(current, 2, packet.length);
    currentBytes.set(packet.subarray(0, currentBytes.length));
    Atomics.store(current, 0, index);

    processPacket(index, packet, from, kind);
    processed++;

    const g = gauges();
    for (const k of Object.keys(maxGauges) as (keyof Gauges)[]) if (g[k] > maxGauges[k]) maxGauges[k] = g[k];
    if ((index + 1) % config.progressEvery === 0) post({ type: 'progress', done: index + 1, gauges: g });
  }
  const elapsedMs = performance.now() - started;
  heap.push(heapAfterGc(config.packets));

  post({
    type: 'done',
    summary: {
      packets: processed,
      kinds,
      records,
      recordsByKind,
      recordsByVersion,
      documents,
      jsonBytes,
      decodeErrors,
      maxGauges,
      finalGauges: gauges(),
      heap,
      elapsedMs,
      stats: structuredClone(decoder.stats),
      exporters: EXPORTERS.length,
      corpusPackets: groups.reduce((n, g) => n + g.length, 0),
    },
  });
}

// Not during module evaluation: this module waits for a top-level await (src/ecs/flow-id.ts), and
// terminating a worker that is still evaluating such a module graph aborts the whole process (a
// V8 fatal error, "Check failed: (location_) != nullptr"), which would turn the watchdog's
// terminate() on a hang into a crash of the test runner.
setImmediate(run);
