/**
 * `workers: 1`: datagrams are decoded on the input's own thread. The socket callback only queues
 * the datagram (bounded, full -> dropped); decoding runs in batches from `setImmediate`, so a
 * burst is drained from the kernel before it is decoded.
 */

import type { DatagramProcessor } from '../datagram-processor.ts';
import type { ExporterAddress } from '../decoder/legacy.ts';
import {
  type DecoderState,
  type DecodingSnapshot,
  type DecodingStage,
  exportDecoderState,
  importDecoderState,
  type StageCallbacks,
} from './stage.ts';

/** Datagrams decoded per event-loop turn before yielding back to the socket. */
const BATCH = 256;

export class InlineDecoding implements DecodingStage {
  private readonly processor: DatagramProcessor;
  // datagram ring: [head, tail) holds queued datagrams
  private readonly queue: Array<[Buffer, ExporterAddress, number] | undefined>;
  private head = 0;
  private tail = 0;
  private scheduled = false;
  private readonly publishJson: (json: string, id: () => string) => void;

  constructor(processor: DatagramProcessor, queueSize: number, callbacks: StageCallbacks) {
    this.processor = processor;
    this.queue = new Array(queueSize + 1);
    this.publishJson = (json, id) => callbacks.publish({ json, id });
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  readonly lostDatagrams = 0;
  readonly workerRestarts = 0;

  get queueLength(): number {
    return (this.tail - this.head + this.queue.length) % this.queue.length;
  }

  accept(payload: Buffer, from: ExporterAddress): boolean {
    const next = (this.tail + 1) % this.queue.length;
    if (next === this.head) return false;
    this.queue[this.tail] = [payload, from, Date.now()];
    this.tail = next;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
    return true;
  }

  private drain(): void {
    this.scheduled = false;
    for (let n = 0; n < BATCH && this.head !== this.tail; n++) {
      const [payload, from, received] = this.queue[this.head]!;
      this.queue[this.head] = undefined;
      this.head = (this.head + 1) % this.queue.length;
      this.processor.process(payload, from, this.publishJson, received);
    }
    if (this.head !== this.tail && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Decodes one datagram now, bypassing the queue (tests, and datagrams read offline). */
  process(payload: Buffer, from: ExporterAddress): void {
    this.processor.process(payload, from, this.publishJson);
  }

  snapshot(): DecodingSnapshot {
    return this.processor.snapshot();
  }

  exportState(): Promise<DecoderState> {
    return Promise.resolve(exportDecoderState(this.processor.decoder));
  }

  importState(state: DecoderState): Promise<number> {
    return Promise.resolve(importDecoderState(this.processor.decoder, state));
  }

  stop(): Promise<DecoderState> {
    // what the kernel gave us before the sockets closed is still decoded and published
    while (this.head !== this.tail) this.drain();
    return this.exportState();
  }
}
