/** Shared helpers for pipeline, output and monitoring tests (not a test file itself). */
import type { Event } from '../../src/pipeline/event.ts';

/** An event whose doc is `{ n }`, with an ack handle counting its calls in `acks`. */
export function makeEvent(n: number, acks?: Map<number, number>): Event {
  const event: Event = { doc: { n }, dataset: 'netflow.log', id: `id-${n}` };
  if (acks !== undefined) {
    event.ack = {
      ack() {
        acks.set(n, (acks.get(n) ?? 0) + 1);
      },
    };
  }
  return event;
}

export function makeEvents(count: number, acks?: Map<number, number>, from = 0): Event[] {
  return Array.from({ length: count }, (_, i) => makeEvent(from + i, acks));
}

/** Whether a promise has settled, without waiting for it. */
export async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

/** `JSON.rawJSON`, which the TypeScript lib does not declare yet. */
export function rawJSON(text: string): unknown {
  return (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON(text);
}
