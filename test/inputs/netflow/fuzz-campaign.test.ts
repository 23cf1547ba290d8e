/**
 * The NetFlow/IPFIX fuzz campaign: mutated real captures plus random bytes, fixed seed, 100,000
 * packets per compatibility mode through one long-lived decoder and normalizer each, proves no
 * crash (a decode throws only DecodeError, the normalizer never throws and writes valid JSON), no
 * hang (a packet-level watchdog), and bounded memory (the decoder's gauges stay within small
 * caps after every packet, and the heap after a full GC grows by at most HEAP_GROWTH_BOUND from
 * 20% to 100% of the campaign; about 5 s per mode on two cores, the two modes at once).
 *
 * What the packets are: fuzz-campaign-worker.ts. Each mode runs in its own worker thread, the two
 * at once; the worker posts its gauges every PROGRESS_EVERY packets and the test terminates it
 * when none came for STALL_MS, naming the seed, the packet index and the packet's bytes (which
 * the worker writes to a shared buffer before decoding it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { PendingOptions } from '../../../src/inputs/netflow/decoder/pending.ts';
import type { SessionLimits } from '../../../src/inputs/netflow/decoder/session.ts';
import type { Compatibility } from '../../../src/inputs/netflow/fields/types.ts';
// types only: importing the worker's values would run the campaign in this thread
import type {
  CampaignConfig,
  CampaignMessage,
  CampaignSummary,
  Failure,
  Gauges,
} from './fuzz-campaign-worker.ts';

const SEED = 0x5eed_f10e;
const SEED_TEXT = `0x${SEED.toString(16)}`;
const PACKETS = 100_000;
const PROGRESS_EVERY = 1_000;
/** No progress for this long (wall clock) is a hang. */
const STALL_MS = 20_000;
/** Small caps, so that every one of them is reached during the campaign. */
const LIMITS: SessionLimits = { maxSessions: 12, maxTemplatesPerSession: 16, maxTemplateFields: 3_000 };
const PENDING: PendingOptions = {
  maxBytes: 48 * 1024,
  maxSetsPerTemplate: 8,
  maxAgeMs: 5_000,
  maxSetsPerExporter: 64,
  maxBytesPerExporter: 16 * 1024,
};
const EXPIRATION_TIMEOUT_MS = 120_000;
/** Largest growth of heap + external memory after a full GC between 20% and 100% of the campaign. */
const HEAP_GROWTH_BOUND = 4 * 1024 * 1024;
/** Hard ceiling of the worker's heap: an unbounded structure ends it with ERR_WORKER_OUT_OF_MEMORY. */
const WORKER_OLD_GENERATION_MB = 256;
/** The shared buffer the worker writes each packet to: index, exporter, length, then the bytes. */
const CURRENT_HEADER = 3;
const CURRENT_BYTES = 65_536;

/** What the caps allow: sessions and templates per table (v9 and IPFIX), fields per decoder. */
const CAPS: Gauges = {
  sessions: 2 * LIMITS.maxSessions,
  templates: 2 * LIMITS.maxSessions * LIMITS.maxTemplatesPerSession,
  templateFields: LIMITS.maxTemplateFields,
  pendingBytes: PENDING.maxBytes,
  pendingSets: Number.POSITIVE_INFINITY,
};

interface Outcome {
  summary?: CampaignSummary;
  failures: Failure[];
  /** Caps exceeded in a progress report. */
  overCaps: string[];
  progress: number;
  /** Why the campaign did not finish: hang, worker error or exit. */
  aborted?: string;
}

function overCaps(g: Gauges, where: string): string[] {
  return (Object.keys(CAPS) as (keyof Gauges)[])
    .filter((k) => g[k] > CAPS[k])
    .map((k) => `${where}: ${k} ${g[k]} > cap ${CAPS[k]}`);
}

function runCampaign(compatibility: Compatibility): Promise<Outcome> {
  const current = new SharedArrayBuffer(CURRENT_HEADER * 4 + CURRENT_BYTES);
  const config: CampaignConfig = {
    seed: SEED,
    packets: PACKETS,
    compatibility,
    progressEvery: PROGRESS_EVERY,
    limits: LIMITS,
    pending: PENDING,
    expirationTimeoutMs: EXPIRATION_TIMEOUT_MS,
    current,
  };
  const worker = new Worker(new URL('./fuzz-campaign-worker.ts', import.meta.url), {
    workerData: config,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_OLD_GENERATION_MB },
  });
  const outcome: Outcome = { failures: [], overCaps: [], progress: 0 };
  return new Promise((resolve) => {
    let lastProgress = Date.now();
    let settled = false;
    const finish = (aborted?: string) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      if (aborted !== undefined) outcome.aborted = aborted;
      void worker.terminate().then(() => resolve(outcome));
    };
    /** The packet the worker is on (or was on when it stopped). */
    const currentPacket = () => {
      const header = new Int32Array(current, 0, CURRENT_HEADER);
      const index = Atomics.load(header, 0);
      const exporter = Atomics.load(header, 1);
      const length = Atomics.load(header, 2);
      const bytes = Buffer.from(new Uint8Array(current, CURRENT_HEADER * 4, Math.min(length, CURRENT_BYTES)));
      return `packet ${index} (exporter #${exporter}, ${length} bytes): ${bytes.toString('hex')}`;
    };
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress < STALL_MS) return;
      finish(
        `no progress for ${STALL_MS} ms (seed ${SEED_TEXT}, ${compatibility}): does not return: ${currentPacket()}`,
      );
    }, 1_000);
    worker.on('message', (m: CampaignMessage) => {
      lastProgress = Date.now();
      if (m.type === 'progress') {
        outcome.progress = m.done;
        outcome.overCaps.push(...overCaps(m.gauges, `after packet ${m.done}`));
      } else if (m.type === 'failure') {
        outcome.failures.push(m.failure);
      } else {
        outcome.summary = m.summary;
        finish();
      }
    });
    worker.on('error', (err) =>
      finish(`worker error (seed ${SEED_TEXT}, ${compatibility}) at ${currentPacket()}: ${err.stack ?? err}`),
    );
    worker.on('exit', (code) => finish(`worker exited with code ${code} after ${outcome.progress} packets`));
  });
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

function report(compatibility: Compatibility, s: CampaignSummary): string {
  const heap = s.heap
    .map((h) => `${Math.round((100 * h.at) / PACKETS)}%: ${mib(h.bytes)} + ${mib(h.external)}`)
    .join(', ');
  const st = s.stats;
  return [
    `${compatibility}: ${s.packets} packets (${JSON.stringify(s.kinds)}) from ${s.exporters} exporters ` +
      `and a spoofer, corpus of ${s.corpusPackets} packets`,
    `  ${(s.elapsedMs / 1000).toFixed(1)} s, ${Math.round(s.packets / (s.elapsedMs / 1000))} packets/s; ` +
      `${s.records} records, ${s.documents} documents, ${mib(s.jsonBytes)} of JSON`,
    `  records by packet kind ${JSON.stringify(s.recordsByKind)}, by version ${JSON.stringify(s.recordsByVersion)}`,
    `  decode errors: ${JSON.stringify(s.decodeErrors)}`,
    `  heap + external memory after GC: ${heap}`,
    `  max gauges: ${JSON.stringify(s.maxGauges)}; final: ${JSON.stringify(s.finalGauges)}`,
    `  templates learned ${st.templatesLearned}, replaced ${st.templatesReplaced}, rejected ` +
      `${st.templatesRejected}, expired ${st.templatesExpired}, withdrawn ${st.templatesWithdrawn}; ` +
      `sessions created ${st.sessionsCreated}, evicted ${st.sessionsEvicted}, expired ${st.sessionsExpired}; ` +
      `sequence resets ${st.sequenceResets}; pending replayed ${st.pendingReplayedSets}, failed ` +
      `${st.pendingFailedSets}, evicted ${JSON.stringify(st.pendingEvicted)}`,
  ].join('\n');
}

describe(`netflow fuzz campaign (seed ${SEED_TEXT}, ${PACKETS} packets per mode)`, {
  concurrency: true,
}, () => {
  for (const compatibility of ['extended', 'filebeat'] as const) {
    it(`${compatibility}: no crash, no hang, bounded memory`, { timeout: 180_000 }, async (t) => {
      const outcome = await runCampaign(compatibility);
      const failures = outcome.failures.map(
        (f) =>
          `packet ${f.index} from ${f.exporter} (seed ${SEED_TEXT}, ${compatibility}): ${f.message}\n  hex: ${f.hex}`,
      );
      assert.equal(outcome.aborted, undefined, [outcome.aborted, ...failures].join('\n'));
      assert.deepEqual(failures, [], `${failures.length} failure(s)`);
      const s = outcome.summary;
      assert.ok(s !== undefined);
      t.diagnostic(report(compatibility, s));

      assert.equal(s.packets, PACKETS);
      assert.equal(outcome.progress, PACKETS);
      assert.ok(s.kinds.unmodified > 0 && s.kinds.mutated > 0 && s.kinds.random > 0);
      // the campaign reached the record paths, not only the error paths, and templates met data
      assert.ok(s.documents > PACKETS, `only ${s.documents} documents`);
      assert.ok(s.recordsByVersion['9'] > 1_000, `${s.recordsByVersion['9']} v9 records`);
      assert.ok(s.recordsByVersion['10'] > 1_000, `${s.recordsByVersion['10']} IPFIX records`);

      // bounded: periodically (every progress report), after every packet (maxima), and at the end
      assert.deepEqual(outcome.overCaps, []);
      assert.deepEqual(overCaps(s.maxGauges, 'maximum after any packet'), []);
      assert.deepEqual(overCaps(s.finalGauges, 'after the campaign'), []);
      // the caps were reached (sessions evicted, templates refused), so they were what bounded it
      assert.ok(s.stats.sessionsEvicted > 0, 'no session was evicted');
      assert.ok(s.stats.templatesRejected > 0, 'no template was refused');
      assert.ok(s.stats.templatesExpired > 0, 'no template expired');
      if (compatibility === 'extended') {
        assert.ok(s.stats.pendingReplayedSets > 0, 'no pending set was replayed');
        assert.ok(s.stats.pendingEvicted.age > 0, 'no pending set aged out');
        assert.ok(s.stats.pendingEvicted.size > 0, 'no pending set was evicted for size');
      } else {
        assert.equal(s.maxGauges.pendingBytes, 0);
      }

      // heap and Buffer memory together: pending sets and packets are Buffers, outside the heap
      const first = s.heap.find((h) => h.at === Math.round(0.2 * PACKETS));
      const last = s.heap.find((h) => h.at === PACKETS);
      assert.ok(first !== undefined && last !== undefined);
      const growth = last.bytes + last.external - (first.bytes + first.external);
      assert.ok(
        growth <= HEAP_GROWTH_BOUND,
        `memory after GC grew by ${mib(growth)} (> ${mib(HEAP_GROWTH_BOUND)}) from 20% to 100%: ${JSON.stringify(s.heap)}`,
      );
    });
  }
});
