import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { ConsoleOutput } from '../../src/outputs/console.ts';
import type { Event } from '../../src/pipeline/event.ts';
import { isSettled, makeEvent, makeEvents, rawJSON } from '../pipeline/helpers.ts';

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

describe('ConsoleOutput', () => {
  test('writes one JSON document per line, big integers and dates exact', async () => {
    const stream = new PassThrough();
    const text = collect(stream);
    const out = new ConsoleOutput({ stream });
    assert.equal(out.name, 'console');
    const events: Event[] = [
      {
        doc: {
          'network.bytes': rawJSON('18446744073709551615'),
          '@timestamp': new Date(Date.UTC(2026, 0, 1)),
        },
        dataset: 'netflow.log',
      },
      makeEvent(1),
    ];
    const res = await out.send(events);
    assert.deepEqual(res.results, [{ status: 'ok' }, { status: 'ok' }]);
    assert.equal(
      text(),
      '{"network.bytes":18446744073709551615,"@timestamp":"2026-01-01T00:00:00.000Z"}\n{"n":1}\n',
    );
    await out.close();
    assert.equal(stream.writableEnded, false, 'the stream belongs to the caller');
  });

  test('pretty indents each document', async () => {
    const stream = new PassThrough();
    const text = collect(stream);
    const out = new ConsoleOutput({ stream, pretty: true });
    await out.send([{ doc: { a: 1, b: { c: rawJSON('9007199254740993') } }, dataset: 'x' }]);
    assert.equal(text(), '{\n  "a": 1,\n  "b": {\n    "c": 9007199254740993\n  }\n}\n');
  });

  test('honours backpressure: a send resolves only when the stream has taken the batch', async () => {
    const pending: Array<() => void> = [];
    const received: string[] = [];
    const stream = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _enc, cb) {
        received.push(chunk.toString());
        pending.push(cb); // the reader is slow: we decide when it has consumed the chunk
      },
    });
    const out = new ConsoleOutput({ stream });
    const first = out.send(makeEvents(3));
    const second = out.send(makeEvents(2, undefined, 3));
    assert.equal(await isSettled(first), false, 'the reader has not consumed the batch');
    assert.equal(received.length, 1);
    pending.shift()!();
    assert.deepEqual(
      (await first).results.map((r) => r.status),
      ['ok', 'ok', 'ok'],
    );
    assert.equal(await isSettled(second), false);
    assert.equal(received.length, 2, 'the next batch is written only after the first was taken');
    pending.shift()!();
    assert.equal((await second).results.length, 2);
    assert.equal(received.join(''), '{"n":0}\n{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
  });

  test('a failing stream turns the batch into retry, an unserialisable document into dead', async () => {
    const stream = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    stream.on('error', () => {});
    const out = new ConsoleOutput({ stream });
    const res = await out.send([makeEvent(0), { doc: { bad: 1n }, dataset: 'x' }]);
    assert.equal(res.results[0].status, 'retry');
    assert.match(res.results[0].error ?? '', /EPIPE/);
    assert.equal(res.results[1].status, 'dead');
    const destroyed = await out.send([makeEvent(1)]);
    assert.deepEqual(destroyed.results[0], { status: 'retry', error: 'stream is closed' });
  });

  test('close is idempotent; sends after close are retried', async () => {
    const out = new ConsoleOutput({ stream: new PassThrough() });
    const c = out.close();
    assert.equal(out.close(), c);
    await c;
    assert.deepEqual((await out.send([makeEvent(0)])).results, [{ status: 'retry', error: 'output closed' }]);
  });
});
