/**
 * Decode -> ECS -> NDJSON throughput of the netflow input's core, on one core, per protocol.
 * Packets come from real exporter captures (fixtures/netflow); each is decoded repeatedly through
 * one decoder (templates learned once, as in a long-running session); each record's document is
 * written as JSON text, and each packet's documents are encoded to NDJSON bytes (UTF-8).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNetworks } from '../src/ecs/locality.ts';
import { NetflowNormalizer } from '../src/ecs/netflow.ts';
import { splitDat } from '../src/inputs/netflow/capture/dat.ts';
import { readPcap } from '../src/inputs/netflow/capture/pcap.ts';
import { NetflowDecoder } from '../src/inputs/netflow/decoder/decoder.ts';
import { buildDictionary } from '../src/inputs/netflow/fields/dictionary.ts';

const encoder = new TextEncoder();
/** Where a packet's NDJSON is encoded (UTF-8), reused: the largest packet's text fits easily. */
const scratch = new Uint8Array(4 * 1024 * 1024);
const FIXTURES = join(import.meta.dirname, '../fixtures/netflow');
const from = { ip: '192.0.2.1', address: '192.0.2.1:4444' };

interface Case {
  name: string;
  /** Template packets, decoded once before timing. */
  setup: Buffer[];
  /** Data packets, decoded in a loop. */
  data: Buffer[];
}

function dat(name: string): Buffer[] {
  return splitDat(readFileSync(join(FIXTURES, 'dat', name))).map((p) => Buffer.from(p));
}

function pcap(name: string): Buffer[] {
  const file = join(FIXTURES, 'pcap', name);
  return [...readPcap(readFileSync(file), file)].map((d) => Buffer.from(d.payload));
}

const cases: Case[] = [
  { name: 'NetFlow v5 (MikroTik, 30 records/packet)', setup: [], data: dat('netflow5_test_microtik.dat') },
  {
    name: 'NetFlow v9 (Cisco ASR1001-X, 25 records)',
    setup: [],
    data: dat('netflow9_cisco_asr1001x_tpl259.dat'),
  },
  {
    name: 'IPFIX (Cisco, pcap, 29 records in 3 packets)',
    setup: pcap('ipfix_cisco.pcap').slice(0, 1),
    data: pcap('ipfix_cisco.pcap'),
  },
];

function measure(c: Case, seconds: number): { flows: number; perSecond: number; bytesPerDoc: number } {
  const dictionary = buildDictionary({ compatibility: 'extended' });
  const decoder = new NetflowDecoder({ dictionary, detectSequenceReset: false, expirationTimeoutMs: 0 });
  const normalizer = new NetflowNormalizer({ internalNetworks: parseNetworks(['private']) });
  for (const p of c.setup) decoder.decode(p, from);
  let flows = 0;
  let bytes = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < 50; i++) {
      for (const p of c.data) {
        // a packet's documents as NDJSON bytes, as an output writes them
        let ndjson = '';
        for (const r of decoder.decode(p, from).records) {
          ndjson += `${normalizer.normalizeJson(r)}\n`;
          flows++;
        }
        bytes += encoder.encodeInto(ndjson, scratch).written;
      }
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  return { flows, perSecond: flows / elapsed, bytesPerDoc: bytes / flows };
}

export function runNetflowDecodeBench(seconds = 3): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (const c of cases) {
    measure(c, 0.5); // warm-up: let the JIT settle
    const r = measure(c, seconds);
    rows.push({
      benchmark: c.name,
      'flows/s (1 core)': Math.round(r.perSecond).toLocaleString('en-US'),
      'bytes/doc': Math.round(r.bytesPerDoc).toString(),
    });
  }
  return rows;
}
