/**
 * The unit that travels from the normalizer through the queue to an output.
 *
 * A document is plain JSON-serialisable data. Integers beyond 2^53 are carried as
 * `JSON.rawJSON('…')` values so that `JSON.stringify` writes them exactly.
 */
export type EcsDocument = Record<string, unknown>;

/** Told once per event when the output has finished with it (accepted, or dead-lettered). */
export interface AckHandle {
  ack(): void;
}

export interface Event {
  /** The final ECS document. */
  doc: EcsDocument;
  /** Data stream dataset: `netflow.log` or `goflow2.sflow`; selects the target data stream. */
  dataset: string;
  /** Deterministic document id where one is stable across replays (file identity + offset). */
  id?: string;
  /** Present for inputs that need to know when the event is safely delivered (file offsets). */
  ack?: AckHandle;
}
