/**
 * Runs the decoder robustness properties of decoder.test.ts in a worker thread, so that the test
 * can terminate it if a decode never returns (a synchronous loop cannot be timed out in-thread).
 * Posts `{ ok: true, runs }` or `{ ok: false, message }` (fast-check's report: seed, path,
 * counterexample).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { splitDat } from '../../../../src/inputs/netflow/capture/dat.ts';
import { readPcap } from '../../../../src/inputs/netflow/capture/pcap.ts';
import { DecodeError } from '../../../../src/util/errors.ts';
import {
  decoder,
  FROM,
  ipfix,
  ipfixOptionsTemplate,
  ipfixTemplate,
  type Spec,
  set,
  v9,
  v9OptionsTemplate,
  v9Template,
} from './packets.ts';

const { seed, numRuns } = workerData as { seed: number; numRuns: number };
const fixtures = new URL('../../../../fixtures/netflow/', import.meta.url);

/** Every capture as its list of export packets (a .dat file's packets, a pcap's payloads). */
function corpus(): Buffer[][] {
  const groups: Buffer[][] = [];
  for (const name of readdirSync(new URL('dat/', fixtures)).sort()) {
    const data = readFileSync(new URL(`dat/${name}`, fixtures));
    groups.push(splitDat(data).map((p) => Buffer.from(p)));
  }
  for (const name of readdirSync(new URL('pcap/', fixtures)).sort()) {
    const data = readFileSync(new URL(`pcap/${name}`, fixtures));
    groups.push([...readPcap(data, name)].map((d) => Buffer.from(d.payload)));
  }
  return groups;
}

/** Decodes one packet; anything thrown but a DecodeError fails the property. */
function decodeChecked(d: ReturnType<typeof decoder>, packet: Buffer): void {
  try {
    const { records, consumed, exporter } = d.decode(packet, FROM);
    if (!(consumed >= 0 && consumed <= packet.length))
      throw new Error(`consumed ${consumed} of ${packet.length}`);
    // every record takes at least one byte of the datagram: no runaway loop over a short packet
    // (records of earlier packets' pending sets, R1, came out of their own bytes)
    const own =
      exporter === undefined ? records.length : records.filter((r) => r.exporter === exporter).length;
    if (own > packet.length) throw new Error(`${own} records from ${packet.length} bytes`);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
  }
}

const groups = corpus();
const VERSIONS = [1, 5, 6, 7, 8, 9, 10];

try {
  // random bytes behind a valid version number (and sometimes any version)
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(...VERSIONS), fc.integer({ min: 0, max: 0xffff })),
      fc.uint8Array({ maxLength: 600 }),
      fc.constantFrom('filebeat' as const, 'extended' as const),
      (version, body, compatibility) => {
        const d = decoder({ compatibility, detectSequenceReset: true });
        const packet = Buffer.concat([Buffer.from([version >> 8, version & 0xff]), body]);
        decodeChecked(d, packet);
        decodeChecked(d, packet); // again, with what the first pass may have learned
      },
    ),
    { seed, numRuns },
  );

  // real captures, each packet mutated (byte changes, truncation, junk appended), decoded in
  // order into one decoder so that learned templates meet mutated data
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: groups.length - 1 }),
      fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.uint8Array({ maxLength: 16 }),
      fc.constantFrom('filebeat' as const, 'extended' as const),
      (group, mutations, cut, junk, compatibility) => {
        const d = decoder({ compatibility, detectSequenceReset: true, shareTemplates: group % 2 === 0 });
        for (const original of groups[group]) {
          const packet = Buffer.from(original);
          for (const { at, value } of mutations) packet[2 + (at % Math.max(1, packet.length - 2))] = value;
          const end = cut === undefined ? packet.length : cut % (packet.length + 1);
          decodeChecked(d, Buffer.concat([packet.subarray(0, end), junk]));
        }
      },
    ),
    { seed, numRuns },
  );
  // well-formed v9 / IPFIX envelopes around random templates and random data: reaches the
  // template and record paths that random bytes rarely get to
  const IDS = [1, 4, 7, 8, 27, 34, 56, 82, 95, 150, 152, 154, 210, 276, 291, 33000, 40000, 60000];
  const spec = fc.tuple(
    fc.constantFrom(...IDS),
    fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 6, 8, 12, 16, 0xffff), fc.integer({ min: 0, max: 0xffff })),
    fc.option(fc.constantFrom(0, 9, 6871, 29305, 41916), { nil: undefined }),
  );
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.boolean(),
      fc.array(spec, { minLength: 0, maxLength: 8 }),
      fc.integer({ min: 0, max: 8 }),
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 3 }),
      fc.constantFrom('filebeat' as const, 'extended' as const),
      (isIpfix, isOptions, specs, scope, bodies, compatibility) => {
        const d = decoder({ compatibility });
        const data = bodies.map((b) => set(256, [...b]));
        let packet: Buffer;
        if (isIpfix) {
          const fields = specs.map(([id, length, pen]): Spec => [id & 0x7fff, length, pen]);
          const template = isOptions ? ipfixOptionsTemplate(256, scope, fields) : ipfixTemplate(256, fields);
          packet = ipfix({}, set(isOptions ? 3 : 2, template), ...data);
        } else {
          const fields = specs.map(([id, length]) => [id, length] as const);
          const template = isOptions
            ? v9OptionsTemplate(256, fields.slice(0, scope), fields.slice(scope))
            : v9Template(256, fields);
          packet = v9({}, set(isOptions ? 1 : 0, template), ...data);
        }
        decodeChecked(d, packet);
      },
    ),
    { seed, numRuns },
  );
  parentPort?.postMessage({ ok: true, runs: 3 * numRuns });
} catch (err) {
  parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
}
