/**
 * The `_bulk` request body and the verdict for each of its items: the pure core of the
 * Elasticsearch output, tested without a server.
 *
 * Body: two lines per event, the `create` action (data streams accept nothing else; on a plain
 * index it is as good, and 409 tells a replay from a new document) and the document's JSON text
 * as the normalizer wrote it:
 *
 *     {"create":{"_index":"logs-netflow.log-default","_id":"3q…"}}\n
 *     {"@timestamp":"…",…}\n
 *
 * Verdicts (OUTPUT.md): 2xx ok; 409 on a create with our own `_id` ok (it is already indexed);
 * 429 and 5xx retry; every other status dead (a mapping conflict, a document Elasticsearch can
 * never take as it is), which goes to the dead-letter file.
 */
import { type Event, eventId, eventJson } from '../../pipeline/event.ts';
import type { ItemResult } from '../output.ts';

/** Where an event goes: a fixed plain index, or the data stream its dataset and namespace name. */
export type IndexSelector = (event: Event) => string;

/** `logs-<dataset>-<namespace>`, or `index` for everything when the user set one. */
export function indexSelector(index: string | undefined): IndexSelector {
  if (index !== undefined) return () => index;
  return (event) => `logs-${event.dataset}-${event.namespace ?? 'default'}`;
}

/** Action lines differ by index and id only: the `{"create":{"_index":"…"` head is kept per index. */
export class BulkEncoder {
  readonly #select: IndexSelector;
  readonly #heads = new Map<string, string>();

  constructor(select: IndexSelector) {
    this.#select = select;
  }

  /** The index of an event. */
  index(event: Event): string {
    return this.#select(event);
  }

  /** The NDJSON body for `events`, in order; one action line and one document line each. */
  encode(events: readonly Event[]): string {
    let body = '';
    for (const event of events) body += `${this.action(event)}\n${eventJson(event)}\n`;
    return body;
  }

  /** The action line of one event (without its newline). */
  action(event: Event): string {
    const index = this.#select(event);
    let head = this.#heads.get(index);
    if (head === undefined) {
      head = `{"create":{"_index":${JSON.stringify(index)}`;
      if (this.#heads.size < 1024) this.#heads.set(index, head);
    }
    const id = eventId(event);
    return id === undefined ? `${head}}}` : `${head},"_id":${JSON.stringify(id)}}}`;
  }
}

/** One item of a bulk response, as `filter_path=errors,items.*.status,items.*.error` leaves it. */
export interface BulkResponseItem {
  status?: number;
  error?: BulkItemError | string;
}

export interface BulkItemError {
  type?: string;
  reason?: string;
  caused_by?: { type?: string; reason?: string };
}

/** The bulk response body, filtered. */
export interface BulkResponse {
  errors?: boolean;
  items?: Array<Record<string, BulkResponseItem>>;
}

/** What happened to one item: the verdict, plus the status for the counters. */
export interface ItemOutcome extends ItemResult {
  /** The item's HTTP status (0 when the response had no item for it). */
  httpStatus: number;
  /** The 409 of a document indexed before: acknowledged, counted apart from new documents. */
  duplicate?: boolean;
}

/** The verdict for an item status. */
export function verdict(status: number): ItemResult['status'] {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 409) return 'ok';
  if (status === 429 || status >= 500) return 'retry';
  return 'dead';
}

/** `type: reason (caused by: type: reason)`, short enough for a log line. */
export function itemErrorText(error: BulkItemError | string | undefined, status: number): string {
  if (error === undefined) return `status ${status}`;
  if (typeof error === 'string') return error;
  let text = [error.type, error.reason].filter((s) => s !== undefined).join(': ') || `status ${status}`;
  const cause = error.caused_by;
  if (cause !== undefined) {
    text += ` (caused by ${[cause.type, cause.reason].filter((s) => s !== undefined).join(': ')})`;
  }
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/**
 * One outcome per event from a bulk response. A response without items for every event (it
 * cannot happen with a healthy cluster) leaves the missing ones to `retry`.
 */
export function classifyItems(response: BulkResponse | null | undefined, count: number): ItemOutcome[] {
  const items =
    response !== null && typeof response === 'object' && Array.isArray(response.items) ? response.items : [];
  const outcomes: ItemOutcome[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const entry = items[i];
    const item =
      entry !== null && typeof entry === 'object'
        ? (entry.create ?? entry.index ?? Object.values(entry)[0])
        : undefined;
    const status =
      item !== null && typeof item === 'object' && typeof item.status === 'number' ? item.status : 0;
    if (status === 0) {
      outcomes[i] = { status: 'retry', httpStatus: 0, error: 'no result for this item in the bulk response' };
      continue;
    }
    const error = item?.error;
    const status_ = itemVerdict(status, error);
    if (status_ === 'ok') {
      outcomes[i] =
        status === 409
          ? { status: 'ok', httpStatus: 409, duplicate: true }
          : { status: 'ok', httpStatus: status };
    } else {
      outcomes[i] = { status: status_, httpStatus: status, error: itemErrorText(error, status) };
    }
  }
  return outcomes;
}

/**
 * The verdict for one item: {@link verdict}, except that what is wrong with the setup rather
 * than with the document (a 401/403 on the item: the credentials may not write this index; a
 * 404 `index_not_found_exception`: a plain index that does not exist) is retried, not
 * dead-lettered: otherwise every document would go to the dead-letter file until it is full.
 */
function itemVerdict(status: number, error: BulkItemError | string | undefined): ItemResult['status'] {
  if (status === 401 || status === 403) return 'retry';
  if (status === 404 && typeof error === 'object' && error?.type === 'index_not_found_exception')
    return 'retry';
  return verdict(status);
}
