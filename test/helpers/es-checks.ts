/**
 * Questions the end-to-end tests ask a real Elasticsearch: how many documents a data stream
 * holds, which values of a unique field occur more than once, and the mapped type of a field.
 */
import assert from 'node:assert/strict';
import type { RunningElasticsearch } from './elasticsearch.ts';
import { eventually } from './process.ts';

/** Documents in `index` (a data stream or pattern) after a refresh; 0 when it does not exist yet. */
export async function countDocs(es: RunningElasticsearch, index: string): Promise<number> {
  await es.request('POST', `/${index}/_refresh?ignore_unavailable=true&allow_no_indices=true`);
  const reply = await es.request<{ count?: number }>(
    'GET',
    `/${index}/_count?ignore_unavailable=true&allow_no_indices=true`,
  );
  return reply.status === 200 ? (reply.body.count ?? 0) : 0;
}

/** Values of `field` held by more than one document (up to `size` of them). */
export async function duplicateValues(
  es: RunningElasticsearch,
  index: string,
  field: string,
  size = 20,
): Promise<Array<{ key: unknown; doc_count: number }>> {
  await es.request('POST', `/${index}/_refresh`);
  const reply = await es.request<{
    aggregations?: { dup: { buckets: Array<{ key: unknown; doc_count: number }> } };
  }>('POST', `/${index}/_search`, {
    size: 0,
    aggs: { dup: { terms: { field, min_doc_count: 2, size } } },
  });
  if (reply.status !== 200)
    throw new Error(`search ${index} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body.aggregations?.dup.buckets ?? [];
}

/** The mapped type of each field in `index` (`_field_caps`); a field with several types maps to 'conflict'. */
export async function fieldTypes(
  es: RunningElasticsearch,
  index: string,
  fields: readonly string[],
): Promise<Record<string, string>> {
  const reply = await es.request<{ fields: Record<string, Record<string, unknown>> }>(
    'GET',
    `/${index}/_field_caps?fields=${fields.join(',')}`,
  );
  if (reply.status !== 200) throw new Error(`field caps of ${index} answered ${reply.status}`);
  const types: Record<string, string> = {};
  for (const [name, caps] of Object.entries(reply.body.fields)) {
    if (!fields.includes(name)) continue; // the parents (`source` for `source.ip`) come along
    const kinds = Object.keys(caps);
    types[name] = kinds.length === 1 ? kinds[0] : 'conflict';
  }
  return types;
}

/** 10.0.0.0 + k: a unique source address per numbered flow or line (k < 2^24). */
export function uniqueIp(k: number): string {
  return `10.${(k >>> 16) & 0xff}.${(k >>> 8) & 0xff}.${k & 0xff}`;
}

/** A GoFlow2 default-format line (as GoFlow2 v2 writes it) whose `src_addr` is {@link uniqueIp}(k). */
export function numberedGoflow2Line(k: number): string {
  return `{"type":"SFLOW_5","time_received_ns":1722384059483524068,"sequence_num":${k},"sampling_rate":100,"sampler_address":"192.0.2.1","time_flow_start_ns":1722384059483524068,"time_flow_end_ns":1722384059483524068,"bytes":64,"packets":1,"src_addr":"${uniqueIp(k)}","dst_addr":"192.0.2.200","etype":"IPv4","proto":"UDP","src_port":5000,"dst_port":53}\n`;
}

/**
 * Waits (up to 2 min) until `index` holds at least `expected` documents, then asserts it holds
 * exactly that many and that no `source.ip` (unique per flow and per line in these tests) occurs
 * twice: everything once, nothing lost, nothing duplicated.
 */
export async function assertIndexedOnce(
  es: RunningElasticsearch,
  index: string,
  expected: number,
  what: string,
): Promise<void> {
  const count = await eventually(
    async () => {
      const n = await countDocs(es, index);
      return n >= expected ? n : undefined;
    },
    120_000,
    `${expected} ${what} indexed`,
  );
  assert.equal(count, expected, `every one of the ${what} once`);
  assert.deepEqual(await duplicateValues(es, index, 'source.ip'), []);
}
