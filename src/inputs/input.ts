/**
 * The contract every input implements. Inputs turn what they read into events and hand them to
 * the sink the pipeline gave them; they know nothing about outputs.
 */
import type { Event } from '../pipeline/event.ts';

export interface Input {
  /** Unique id from the configuration (keys registries, caches and metrics). */
  readonly id: string;
  /** Starts reading; resolves once listening (sockets bound, files opened). */
  start(): Promise<void>;
  /**
   * For inputs that end by themselves (a pipe reaching end of stream): resolves then. `run`
   * drains and exits once every input has one and all have resolved.
   */
  readonly done?: Promise<void>;
  /** Stops reading and releases resources; idempotent, returns the same promise every time. */
  stop(): Promise<void>;
}

/** Where an input puts its events. */
export interface EventSink {
  /** For sources that cannot wait (UDP): never blocks, returns false (and counts) when full. */
  tryPublish(event: Event): boolean;
  /** For sources that can wait (files): resolves when the event is queued. */
  publish(event: Event): Promise<void>;
}
