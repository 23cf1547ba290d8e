/**
 * The unit that travels from the normalizer through the queue to an output.
 *
 * A document is plain JSON-serialisable data. Integers beyond 2^53 are carried as
 * `JSON.rawJSON('…')` values so that `JSON.stringify` writes them exactly.
 */
export type EcsDocument = Record<string, unknown>;

/** A document's `data_stream`: it lands in `<type>-<dataset>-<namespace>`. */
export interface DataStream {
  readonly type: string;
  readonly dataset: string;
  readonly namespace: string;
}

/** Told once per event when the output has finished with it (accepted, or dead-lettered). */
export interface AckHandle {
  ack(): void;
}

export interface Event {
  /** The final ECS document as data; absent when the normalizer wrote {@link json} directly. */
  doc?: EcsDocument;
  /** The final ECS document as JSON text (the goflow2 mapper writes it directly); outputs use it as is. */
  json?: string;
  /** Data stream dataset: `netflow.log` or `goflow2.sflow`; selects the target data stream. */
  dataset: string;
  /** Data stream namespace (`logs-<dataset>-<namespace>`); `default` when absent. */
  namespace?: string;
  /**
   * Deterministic document id where one is stable across replays (file identity + offset), or
   * the function computing it: a digest per line is only worth its cost to an output that sends
   * ids (Elasticsearch). Read it with {@link eventId}.
   */
  id?: string | (() => string);
  /** Present for inputs that need to know when the event is safely delivered (file offsets). */
  ack?: AckHandle;
}

/** The event's document id, computed on first use and then kept. */
export function eventId(event: Event): string | undefined {
  if (typeof event.id === 'function') event.id = event.id();
  return event.id;
}

/** The event's document as JSON text: {@link Event.json}, or `doc` serialised. */
export function eventJson(event: Event): string {
  return event.json ?? JSON.stringify(event.doc ?? null);
}

/**
 * The event's document as data: `doc`, or {@link Event.json} parsed with integers beyond 2^53
 * kept exact (`JSON.rawJSON`), so that serialising it again gives the same text.
 */
export function eventDocument(event: Event): EcsDocument {
  if (event.doc !== undefined) return event.doc;
  return parseDocument(event.json ?? 'null');
}

/** A document's JSON text as data, integers beyond 2^53 kept exact (`JSON.rawJSON`). */
export function parseDocument(json: string): EcsDocument {
  return JSON.parse(json, exactIntegers) as EcsDocument;
}

function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  return typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
    ? JSON.rawJSON(context.source)
    : value;
}
