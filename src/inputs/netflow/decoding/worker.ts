/**
 * A decoding worker thread (`workers > 1`, NETFLOW.md R7): owns the decoder state of the exporters
 * the input shards to it (sessions, templates, pending data), decodes their datagrams in arrival
 * order, normalises and serialises the documents, and sends them back as JSON text. No state is
 * shared with other threads.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DatagramProcessor, type DecodeFailure } from '../datagram-processor.ts';
import { NetflowDecoder } from '../decoder/decoder.ts';
import type { ExporterAddress } from '../decoder/legacy.ts';
import { buildNetflowParts } from '../parts.ts';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.ts';
import { exportDecoderState, importDecoderState } from './stage.ts';

/** Failures described per batch; the rest are only counted (the input's log is rate-limited). */
const FAILURES_PER_BATCH = 16;
/** The longest a changed snapshot waits before it is sent. */
const SNAPSHOT_MS = 100;
/** How often the pending-data and template expiry sweeps get a chance to run without traffic. */
const SWEEP_MS = 1000;
/** Exporter addresses remembered (one object per exporter, not per datagram). */
const MAX_ADDRESSES = 4096;

const port = parentPort;
if (port === null) throw new Error('decoding/worker.ts runs as a worker thread');
const setup = workerData as WorkerSetup;

const { dictionary, normalizer } = buildNetflowParts(setup.config);
const decoder = new NetflowDecoder({ ...setup.decoder, dictionary });
let failures: DecodeFailure[] = [];
const processor = new DatagramProcessor({
  inputId: setup.inputId,
  decoder,
  normalizer,
  maxExporters: setup.maxExporters,
  onFailure: (failure) => {
    if (failures.length < FAILURES_PER_BATCH) failures.push(failure);
  },
});

const addresses = new Map<string, ExporterAddress>();
function exporter(address: string, ip: string): ExporterAddress {
  let e = addresses.get(address);
  if (e === undefined) {
    if (addresses.size >= MAX_ADDRESSES) addresses.clear();
    e = { ip, address };
    addresses.set(address, e);
  }
  return e;
}

let dirty = false;
let lastSnapshot = 0;

function post(message: FromWorker): void {
  port?.postMessage(message);
}

function decodeBatch(message: Extract<ToWorker, { type: 'datagrams' }>): void {
  const { bytes, ends, receivedMs } = message;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const json: string[] = [];
  const ids: string[] | undefined = setup.documentIds ? [] : undefined;
  const sink =
    ids === undefined
      ? (text: string) => {
          json.push(text);
        }
      : (text: string, id: () => string) => {
          ids.push(id());
          json.push(text);
        };
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i];
    processor.process(
      buffer.subarray(start, end),
      exporter(message.addresses[i], message.ips[i]),
      sink,
      receivedMs,
    );
    start = end;
  }
  const now = Date.now();
  const withSnapshot = now - lastSnapshot >= SNAPSHOT_MS;
  if (withSnapshot) lastSnapshot = now;
  dirty = !withSnapshot;
  post({
    type: 'results',
    done: ends.length,
    json,
    ids,
    failures,
    ...(withSnapshot ? { snapshot: processor.snapshot() } : {}),
  });
  failures = [];
}

const snapshotTimer = setInterval(() => {
  if (!dirty) return;
  dirty = false;
  lastSnapshot = Date.now();
  post({ type: 'snapshot', snapshot: processor.snapshot() });
}, SNAPSHOT_MS);
const sweepTimer = setInterval(() => {
  const s = decoder.stats;
  const before = s.pendingSets + s.pendingBytes + decoder.templateChangeCount + decoder.sessionCount;
  decoder.maybeSweep();
  // what a sweep changed on an idle worker must reach the input too (the next snapshot)
  if (s.pendingSets + s.pendingBytes + decoder.templateChangeCount + decoder.sessionCount !== before)
    dirty = true;
}, SWEEP_MS);

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'datagrams':
      decodeBatch(message);
      break;
    case 'export':
      post({ type: 'state', request: message.request, state: exportDecoderState(decoder) });
      break;
    case 'import':
      post({
        type: 'imported',
        request: message.request,
        loaded: importDecoderState(decoder, message.state),
      });
      dirty = true;
      break;
    case 'stop':
      clearInterval(snapshotTimer);
      clearInterval(sweepTimer);
      post({ type: 'stopped', snapshot: processor.snapshot(), state: exportDecoderState(decoder) });
      port.close();
      break;
  }
});
post({ type: 'ready' });
