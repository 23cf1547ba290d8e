/** The bulk body and the per-item verdicts, without a server (the real one is in test/e2e). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BulkEncoder,
  classifyItems,
  indexSelector,
  itemErrorText,
  verdict,
} from '../../../src/outputs/elasticsearch/bulk.ts';
import type { Event } from '../../../src/pipeline/event.ts';

describe('BulkEncoder', () => {
  it('writes a create action into the data stream of the dataset and namespace, then the JSON text', () => {
    const encoder = new BulkEncoder(indexSelector(undefined));
    const events: Event[] = [
      { json: '{"a":1}', dataset: 'netflow.log', namespace: 'prod', id: 'x"1' },
      { doc: { b: 2 }, dataset: 'goflow2.sflow', id: () => 'lazy' },
      { json: '{"c":3}', dataset: 'netflow.log' },
    ];
    assert.equal(
      encoder.encode(events),
      '{"create":{"_index":"logs-netflow.log-prod","_id":"x\\"1"}}\n{"a":1}\n' +
        '{"create":{"_index":"logs-goflow2.sflow-default","_id":"lazy"}}\n{"b":2}\n' +
        '{"create":{"_index":"logs-netflow.log-default"}}\n{"c":3}\n',
    );
  });

  it('a plain index override takes every event', () => {
    const encoder = new BulkEncoder(indexSelector('flows'));
    assert.equal(
      encoder.action({ json: '{}', dataset: 'netflow.log', namespace: 'x', id: 'i' }),
      '{"create":{"_index":"flows","_id":"i"}}',
    );
  });
});

describe('verdicts', () => {
  it('2xx and 409 are ok, 429 and 5xx retry, other 4xx dead', () => {
    const cases: Array<[number, string]> = [
      [200, 'ok'],
      [201, 'ok'],
      [409, 'ok'],
      [429, 'retry'],
      [500, 'retry'],
      [503, 'retry'],
      [400, 'dead'],
      [404, 'dead'],
      [413, 'dead'],
    ];
    for (const [status, expected] of cases) assert.equal(verdict(status), expected, `status ${status}`);
  });

  it('classifies each item in order, marks 409 as a duplicate and keeps the reason', () => {
    const outcomes = classifyItems(
      {
        errors: true,
        items: [
          { create: { status: 201 } },
          { create: { status: 409, error: { type: 'version_conflict_engine_exception', reason: 'exists' } } },
          {
            create: {
              status: 400,
              error: {
                type: 'document_parsing_exception',
                reason: 'bad',
                caused_by: { type: 'x', reason: 'y' },
              },
            },
          },
          { create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'busy' } } },
        ],
      },
      5,
    );
    assert.deepEqual(outcomes, [
      { status: 'ok', httpStatus: 201 },
      { status: 'ok', httpStatus: 409, duplicate: true },
      { status: 'dead', httpStatus: 400, error: 'document_parsing_exception: bad (caused by x: y)' },
      { status: 'retry', httpStatus: 429, error: 'es_rejected_execution_exception: busy' },
      { status: 'retry', httpStatus: 0, error: 'no result for this item in the bulk response' },
    ]);
  });

  it('error text falls back to the status and is bounded', () => {
    assert.equal(itemErrorText(undefined, 400), 'status 400');
    assert.equal(itemErrorText({ reason: 'r'.repeat(5000) }, 400).length, 2001);
  });
});
