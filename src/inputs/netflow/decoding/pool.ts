/**
 * `workers > 1` (NETFLOW.md R7): decoding spread over worker threads. The socket's thread only
 * shards each datagram to the worker owning its exporter (shard.ts), packs a turn's datagrams per
 * worker into one transferred buffer, and queues the JSON documents that come back. Each worker's
 * queue is bounded (`queue_size / workers` datagrams in flight): full -> dropped and counted, the
 * socket is never made to wait.
 *
 * A worker that dies (it should not: the processor never throws) is logged and replaced by a
 * fresh one; the exporters it owned learn their templates again (or from pending data).
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../../monitoring/logger.ts';
import { FlowshipError } from '../../../util/errors.ts';
import type { ExporterAddress } from '../decoder/legacy.ts';
import { newDecoderStats } from '../decoder/session.ts';
import { mergeDelayHistograms, mergeExporterSamples, newDelayHistogram } from '../exporter-stats.ts';
import type { CachedOptionsState, CachedTemplate } from '../template-cache.ts';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.ts';
import { shardOfDatagram, shardOfSession } from './shard.ts';
import {
  type DecoderState,
  type DecodingSnapshot,
  type DecodingStage,
  type StageCallbacks,
  sumCounters,
  sumDecoderStats,
} from './stage.ts';

const WORKER_URL = new URL('./worker.ts', import.meta.url);
/** Pause before a worker that died is replaced. */
const RESPAWN_DELAY_MS = 1000;

export interface WorkerPoolOptions {
  readonly workers: number;
  /** Datagrams waiting for decoding, over all workers (`queue_size`). */
  readonly queueSize: number;
  readonly setup: WorkerSetup;
  readonly logger: Logger;
  readonly callbacks: StageCallbacks;
}

/** A batch being gathered for one worker during this event-loop turn. */
interface Batch {
  chunks: Buffer[];
  bytes: number;
  addresses: string[];
  ips: string[];
}

function emptySnapshot(): DecodingSnapshot {
  return {
    counters: { flows: 0, decodeErrors: 0, decodeErrorsByReason: {} },
    decoder: newDecoderStats(),
    timeRejected: 0,
    exporters: [],
    delay: newDelayHistogram(),
    sessions: 0,
    templates: 0,
    templateChanges: 0,
  };
}

/** The workers' states as one (each holds different sessions). */
function mergeStates(states: readonly DecoderState[]): DecoderState {
  return { templates: states.flatMap((s) => s.templates), options: states.flatMap((s) => s.options) };
}

class Slot {
  worker!: Worker;
  ready!: Promise<void>;
  batch: Batch = { chunks: [], bytes: 0, addresses: [], ips: [] };
  /** Datagrams posted and not reported decoded yet. */
  inFlight = 0;
  /** The latest counters of the current worker (those of workers that died are in `retired`). */
  snapshot: DecodingSnapshot = emptySnapshot();
  /** Replies awaited, by request number. */
  readonly waiting = new Map<number, (message: FromWorker | undefined) => void>();
  stopped: (() => void) | undefined;
  /** The current worker has loaded (a worker that fails while loading is not replaced). */
  loaded = false;
  /** The state the worker had when it stopped. */
  finalState: DecoderState = { templates: [], options: [] };
  exited = false;
}

export class WorkerPool implements DecodingStage {
  private readonly options: WorkerPoolOptions;
  private readonly slots: Slot[] = [];
  private readonly perWorker: number;
  private flushScheduled = false;
  private requests = 0;
  private stopping = false;
  private stopped: Promise<DecoderState> | undefined;
  /** Datagrams a dying worker took with it (accepted, never decoded). */
  private lost = 0;
  /** Decoding counters of workers that died, so that counters never go back. */
  private readonly retired: DecodingSnapshot[] = [];
  private restarts = 0;

  constructor(options: WorkerPoolOptions) {
    this.options = options;
    this.perWorker = Math.max(1, Math.ceil(options.queueSize / options.workers));
    for (let i = 0; i < options.workers; i++) this.slots.push(new Slot());
  }

  /** Workers replaced after dying. */
  get workerRestarts(): number {
    return this.restarts;
  }

  /** Datagrams accepted and lost with a worker that died before decoding them. */
  get lostDatagrams(): number {
    return this.lost;
  }

  async start(): Promise<void> {
    for (const slot of this.slots) this.spawn(slot);
    const started = await Promise.allSettled(this.slots.map((s) => s.ready));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed === undefined) return;
    // every worker has finished loading (terminating one still evaluating its modules can abort
    // the process); none is kept
    this.stopping = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    const reason = (failed as PromiseRejectedResult).reason;
    throw new FlowshipError(
      'FLOWSHIP_CONFIG',
      `a NetFlow decoding worker cannot start: ${reason instanceof Error ? reason.message : String(reason)}`,
      { cause: reason },
    );
  }

  private spawn(slot: Slot): void {
    const worker = new Worker(WORKER_URL, { workerData: this.options.setup, name: `netflow-decoder` });
    slot.worker = worker;
    slot.exited = false;
    slot.loaded = false;
    slot.ready = new Promise((resolve, reject) => {
      worker.once('error', reject);
      const onReady = (m: FromWorker) => {
        if (m.type !== 'ready') return;
        worker.off('message', onReady);
        worker.off('error', reject);
        slot.loaded = true;
        resolve();
      };
      worker.on('message', onReady);
    });
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('error', (err) => {
      this.options.logger.error('a NetFlow decoding worker failed', { error: err.message });
    });
    worker.on('exit', (code) => {
      slot.exited = true;
      for (const reply of slot.waiting.values()) reply(undefined);
      slot.waiting.clear();
      if (slot.stopped !== undefined) {
        slot.stopped();
        return;
      }
      if (this.stopping || !slot.loaded) return;
      // died: keep what it counted, count what it took with it, replace it (after a pause, so
      // that a worker dying at once again does not spin)
      this.retired.push(slot.snapshot);
      slot.snapshot = emptySnapshot();
      this.lost += slot.inFlight;
      slot.inFlight = 0;
      this.restarts++;
      this.options.logger.error(
        'a NetFlow decoding worker exited; its exporters lose their templates until re-sent; starting a new one in 1 s',
        { code, lost_datagrams: this.lost },
      );
      const timer = setTimeout(() => {
        if (this.stopping) return;
        this.spawn(slot);
        slot.ready.catch(() => {});
      }, RESPAWN_DELAY_MS);
      timer.unref();
    });
  }

  get queueLength(): number {
    let n = 0;
    for (const s of this.slots) n += s.inFlight + s.batch.chunks.length;
    return n;
  }

  accept(payload: Buffer, from: ExporterAddress): boolean {
    const { workers, setup } = this.options;
    const slot =
      this.slots[shardOfDatagram(payload, from.ip, workers, setup.decoder.shareTemplates === true)];
    const batch = slot.batch;
    if (slot.inFlight + batch.chunks.length >= this.perWorker || slot.exited) return false;
    batch.chunks.push(payload);
    batch.bytes += payload.length;
    batch.addresses.push(from.address);
    batch.ips.push(from.ip);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Posts each worker's gathered datagrams as one message. */
  private flush(): void {
    this.flushScheduled = false;
    const receivedMs = Date.now();
    for (const slot of this.slots) {
      const { chunks, bytes, addresses, ips } = slot.batch;
      if (chunks.length === 0) continue;
      slot.batch = { chunks: [], bytes: 0, addresses: [], ips: [] };
      if (slot.exited) {
        this.lost += chunks.length; // its worker died during this turn
        continue;
      }
      // one buffer of its own (not from the pool), so that it can be transferred, not copied
      const packed = Buffer.allocUnsafeSlow(bytes);
      const ends: number[] = new Array(chunks.length);
      let at = 0;
      for (let i = 0; i < chunks.length; i++) {
        at += chunks[i].copy(packed, at);
        ends[i] = at;
      }
      slot.inFlight += chunks.length;
      const message: ToWorker = { type: 'datagrams', bytes: packed, ends, addresses, ips, receivedMs };
      slot.worker.postMessage(message, [packed.buffer]);
    }
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case 'results': {
        slot.inFlight = Math.max(0, slot.inFlight - m.done);
        if (m.snapshot !== undefined) slot.snapshot = m.snapshot;
        const { publish, onFailure } = this.options.callbacks;
        const { json, ids } = m;
        for (let i = 0; i < json.length; i++) publish({ json: json[i], id: ids?.[i] });
        for (const f of m.failures) onFailure(f);
        break;
      }
      case 'snapshot':
        slot.snapshot = m.snapshot;
        break;
      case 'stopped':
        slot.snapshot = m.snapshot;
        slot.finalState = m.state;
        break;
      case 'state':
      case 'imported':
        slot.waiting.get(m.request)?.(m);
        slot.waiting.delete(m.request);
        break;
      case 'ready':
        break;
    }
  }

  /** Sends a request to one worker and waits for its reply (undefined if the worker is gone). */
  private ask(slot: Slot, message: (request: number) => ToWorker): Promise<FromWorker | undefined> {
    if (slot.exited) return Promise.resolve(undefined);
    const request = ++this.requests;
    return new Promise((resolve) => {
      slot.waiting.set(request, resolve);
      slot.worker.postMessage(message(request));
    });
  }

  snapshot(): DecodingSnapshot {
    const all = [...this.retired, ...this.slots.map((s) => s.snapshot)];
    const decoder = sumDecoderStats(
      all.map((s) => s.decoder),
      newDecoderStats(),
    );
    // gauges of dead workers are gone with them
    const live = this.slots.map((s) => s.snapshot);
    decoder.pendingSets = live.reduce((n, s) => n + s.decoder.pendingSets, 0);
    decoder.pendingBytes = live.reduce((n, s) => n + s.decoder.pendingBytes, 0);
    decoder.templateFields = live.reduce((n, s) => n + s.decoder.templateFields, 0);
    decoder.optionsEntries = live.reduce((n, s) => n + s.decoder.optionsEntries, 0);
    decoder.optionsBytes = live.reduce((n, s) => n + s.decoder.optionsBytes, 0);
    return {
      counters: sumCounters(all.map((s) => s.counters)),
      decoder,
      timeRejected: all.reduce((n, s) => n + s.timeRejected, 0),
      exporters: mergeExporterSamples(all.map((s) => s.exporters)),
      delay: mergeDelayHistograms(all.map((s) => s.delay)),
      sessions: live.reduce((n, s) => n + s.sessions, 0),
      templates: live.reduce((n, s) => n + s.templates, 0),
      templateChanges: all.reduce((n, s) => n + s.templateChanges, 0),
    };
  }

  async exportState(): Promise<DecoderState> {
    const replies = await Promise.all(
      this.slots.map((s) => this.ask(s, (request) => ({ type: 'export', request }))),
    );
    return mergeStates(replies.flatMap((r) => (r?.type === 'state' ? [r.state] : [])));
  }

  async importState(state: DecoderState): Promise<number> {
    const { workers, setup } = this.options;
    const share = setup.decoder.shareTemplates === true;
    const parts = this.slots.map(() => ({
      templates: [] as CachedTemplate[],
      options: [] as CachedOptionsState[],
    }));
    for (const t of state.templates) parts[shardOfSession(t.session, workers, share)].templates.push(t);
    for (const o of state.options) parts[shardOfSession(o.session, workers, share)].options.push(o);
    const replies = await Promise.all(
      this.slots.map((s, i) =>
        parts[i].templates.length === 0 && parts[i].options.length === 0
          ? Promise.resolve(undefined)
          : this.ask(s, (request) => ({ type: 'import', request, state: parts[i] })),
      ),
    );
    return replies.reduce((n, r) => n + (r?.type === 'imported' ? r.loaded : 0), 0);
  }

  /** Idempotent: every call gets the same final state. */
  stop(): Promise<DecoderState> {
    this.stopped ??= this.stopWorkers();
    return this.stopped;
  }

  private async stopWorkers(): Promise<DecoderState> {
    this.stopping = true;
    this.flush();
    // a worker handles its messages in order: `stop` comes after every batch posted, and its
    // results are published before `stopped` arrives
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (slot.exited) return resolve();
            slot.stopped = resolve;
            slot.worker.postMessage({ type: 'stop' } satisfies ToWorker);
          }),
      ),
    );
    return mergeStates(this.slots.map((s) => s.finalState));
  }
}
