/**
 * Documents/s into a real local Elasticsearch: flowship's output path against a raw `_bulk` of
 * the same pre-serialised documents, with the same batch size, concurrency and compression. The
 * ratio flowship/raw is the figure (target >= 0.9): the raw loop does nothing but send ready
 * bodies, so the ratio is what flowship's own work (queue, pipeline, encoding, client) costs.
 *
 * - corpus: NetFlow v5, v9 and IPFIX documents from real exporter captures (fixtures/netflow),
 *   decoded and normalised as `flowship decode` does, then varied (source address and port,
 *   timestamps) so every document differs, each with the deterministic `_id` flowship gives it;
 * - `raw _bulk`: the NDJSON bodies built before timing (`create` actions, as flowship's), POSTed
 *   with `fetch` to `/_bulk` with flowship's query string, one batch after another per loop;
 * - `flowship`: a MemoryQueue, the Pipeline and the ElasticsearchOutput over a Connection built
 *   from `output.elasticsearch` settings, as `run` assembles them; events carry the document's
 *   JSON text, are published into the queue and counted when acknowledged.
 *
 * Each run writes into data streams of its own namespace (no 409s, no index grown by an earlier
 * run), flushed before the next run starts. After a warm-up of every case, the cases take turns
 * for {@link ROUNDS} rounds and the median run counts. The node (integ-test-zip, security off,
 * C2 JIT allowed) shares this machine's cores with the client, and with anything else running:
 * the CPU columns (this process, and the node's JVM from /proc, per document) do not depend on
 * that, the rates do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ELASTICSEARCH_VERSION } from '../scripts/ensure-elasticsearch.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config, ElasticsearchOutputConfig, NetflowInputConfig } from '../src/config/schema.ts';
import { datagramDigest, flowDocumentId } from '../src/ecs/netflow-id.ts';
import { NetflowDecoder } from '../src/inputs/netflow/decoder/decoder.ts';
import { decodeCaptureFile } from '../src/inputs/netflow/offline.ts';
import { buildNetflowParts } from '../src/inputs/netflow/parts.ts';
import { Connection, clientOptions } from '../src/outputs/elasticsearch/connection.ts';
import { ElasticsearchOutput } from '../src/outputs/elasticsearch/output.ts';
import { installTemplates } from '../src/outputs/elasticsearch/setup.ts';
import { indexTemplates } from '../src/outputs/elasticsearch/templates.ts';
import type { EcsDocument, Event } from '../src/pipeline/event.ts';
import { MemoryQueue } from '../src/pipeline/memory-queue.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { type RunningElasticsearch, startElasticsearch } from '../test/helpers/elasticsearch.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/netflow/pcap');
const CAPTURES = ['ipt_netflow_v5.pcap', 'netflow9_ubiquiti_edgerouter.pcap', 'ipfix_cisco.pcap'];
const DATASET = 'netflow.log';
/** What flowship's output asks for (output.ts): no ingest pipeline, only what the verdicts need. */
const BULK_QUERY = 'pipeline=_none&filter_path=errors,items.*.status,items.*.error';
const HEAP = '1g';
/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/** Said next to the table: what the node is and how it runs. */
export const ELASTICSEARCH_BENCH_SETUP = `Elasticsearch ${ELASTICSEARCH_VERSION} integ-test-zip, 1 node on this machine, heap ${HEAP}, security off; bulk_max_size 1600`;

/** The documents of one run: JSON text and `_id`, in order. */
interface Corpus {
  readonly json: string[];
  readonly ids: string[];
}

/**
 * `count` documents from the fixture captures: each decoded record is normalised once, then
 * copied with its own source address and port, timestamps and sequence number (so its `_id`).
 */
function buildCorpus(input: NetflowInputConfig, count: number): Corpus {
  const { dictionary, normalizer } = buildNetflowParts(input);
  const decoder = new NetflowDecoder({
    dictionary,
    compatibility: input.compatibility,
    protocols: input.protocols,
    shareTemplates: input.share_templates,
    detectSequenceReset: input.detect_sequence_reset,
    expirationTimeoutMs: 0,
  });
  const summary = { datagrams: 0, records: 0, errors: 0, truncated: 0 };
  const templates: Array<{ doc: EcsDocument; exporter: Parameters<typeof flowDocumentId>[1] }> = [];
  for (const file of CAPTURES) {
    const records = decodeCaptureFile(
      join(FIXTURES, file),
      {
        decoder,
        exporter: { ip: '192.0.2.1', port: 4444 },
        maxMessageSize: input.max_message_size,
        onError: (err) => {
          throw err;
        },
      },
      summary,
    );
    for (const record of records)
      templates.push({ doc: normalizer.normalize(record), exporter: record.exporter.address });
  }
  const json: string[] = new Array(count);
  const ids: string[] = new Array(count);
  const base = Date.now() - count; // one document per millisecond, ending now
  for (let i = 0; i < count; i++) {
    const { doc, exporter } = templates[i % templates.length];
    const time = new Date(base + i).toISOString();
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const port = 1024 + (i % 60_000);
    const source = doc.source as Record<string, unknown> | undefined;
    const netflow = doc.netflow as Record<string, unknown>;
    const event = doc.event as Record<string, unknown>;
    const copy: EcsDocument = { ...doc, '@timestamp': time, event: { ...event, created: time } };
    if (source?.ip !== undefined) {
      copy.source = { ...source, ip, port };
      copy.netflow = { ...netflow, source_ipv4_address: ip, source_transport_port: port };
      const related = doc.related as { ip?: string[] } | undefined;
      if (related?.ip !== undefined)
        copy.related = { ...related, ip: related.ip.map((a) => (a === source.ip ? ip : a)) };
    } else {
      copy.netflow = { ...netflow, cisco_server_l4_port: port };
    }
    json[i] = JSON.stringify(copy);
    // one digest per document stands for one per datagram: the ids are as costly and as unique
    ids[i] = flowDocumentId(
      'netflow-bench',
      exporter,
      datagramDigest(Buffer.from(json[i])),
      i % templates.length,
    );
  }
  return { json, ids };
}

/** The corpus's documents with `data_stream.namespace` set to `namespace` (the normaliser wrote `default`). */
function inNamespace(corpus: Corpus, namespace: string): string[] {
  const from = '"namespace":"default"';
  const to = `"namespace":${JSON.stringify(namespace)}`;
  return corpus.json.map((j) => j.replace(from, to));
}

/** Wall time of one run and the CPU time this process and the node's JVM spent in it. */
interface RunTime {
  seconds: number;
  clientCpuSeconds: number;
  /** NaN where /proc cannot be read. */
  serverCpuSeconds: number;
}

/** utime + stime of a process in seconds, from /proc (Linux); NaN elsewhere. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], [12]: utime, stime (proc(5) numbers them 14 and 15, counting pid and comm)
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Starts a clock; the returned function reads wall and CPU time since. */
function stopwatch(es: RunningElasticsearch): () => RunTime {
  const wall = performance.now();
  const client = process.cpuUsage();
  const server = processCpuSeconds(es.pid);
  return () => {
    const used = process.cpuUsage(client);
    return {
      seconds: (performance.now() - wall) / 1000,
      clientCpuSeconds: (used.user + used.system) / 1e6,
      serverCpuSeconds: processCpuSeconds(es.pid) - server,
    };
  };
}

/** Raw `_bulk`: the bodies are built before timing; `inFlight` loops POST them one after another. */
async function rawRun(
  es: RunningElasticsearch,
  corpus: Corpus,
  namespace: string,
  batchSize: number,
  inFlight: number,
): Promise<RunTime> {
  const json = inNamespace(corpus, namespace);
  const head = `{"create":{"_index":${JSON.stringify(`logs-${DATASET}-${namespace}`)},"_id":`;
  const bodies: string[] = [];
  for (let from = 0; from < json.length; from += batchSize) {
    let body = '';
    for (let i = from; i < Math.min(from + batchSize, json.length); i++)
      body += `${head}${JSON.stringify(corpus.ids[i])}}}\n${json[i]}\n`;
    bodies.push(body);
  }
  const url = `${es.url}/_bulk?${BULK_QUERY}`;
  const headers = { 'content-type': 'application/x-ndjson', accept: 'application/json' };
  let next = 0;
  const elapsed = stopwatch(es);
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const res = await fetch(url, { method: 'POST', headers, body });
        const reply = (await res.json()) as { errors?: boolean };
        if (res.status !== 200 || reply.errors !== false)
          throw new Error(`raw _bulk answered ${res.status}: ${JSON.stringify(reply).slice(0, 500)}`);
      }
    }),
  );
  return elapsed();
}

/**
 * flowship: queue -> pipeline -> Elasticsearch output, built from `config` as `run` builds them;
 * resolves with the seconds from the first publish to the last acknowledgement.
 */
async function flowshipRun(
  es: RunningElasticsearch,
  config: Config,
  corpus: Corpus,
  namespace: string,
  workers: number,
  compressionLevel: number,
): Promise<RunTime> {
  const out = config.output as ElasticsearchOutputConfig;
  const json = inNamespace(corpus, namespace);
  let acked = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const ack = {
    ack: () => {
      if (++acked === json.length) done();
    },
  };
  const events: Event[] = json.map((j, i) => ({
    json: j,
    dataset: DATASET,
    namespace,
    id: corpus.ids[i],
    ack,
  }));
  const output = new ElasticsearchOutput({
    connection: new Connection(clientOptions(out)),
    pipeline: out.pipeline,
    compressionLevel,
  });
  await output.server(); // the version probe, once per output, is not part of the rate
  const queue = new MemoryQueue({ maxEvents: config.queue.mem.events });
  const pipeline = new Pipeline({
    queue,
    output,
    batchSize: Math.min(out.bulk_max_size, config.queue.mem.events),
    flushIntervalMs: out.flush_interval,
    workers,
  });
  const elapsed = stopwatch(es);
  pipeline.start();
  for (const event of events) {
    // a file input's discipline: wait only while the queue is full
    if (queue.length < queue.capacity) void queue.publish(event);
    else await queue.publish(event);
  }
  await pipeline.stop(); // hands out the last partial batch at once instead of after flush_interval
  await finished;
  const time = elapsed();
  const { created, dead, retried, duplicates } = output.stats;
  if (created !== json.length)
    throw new Error(
      `flowship indexed ${created} of ${json.length} (dead ${dead}, retried ${retried}, 409 ${duplicates})`,
    );
  return time;
}

interface Case {
  name: string;
  kind: 'raw' | 'flowship';
  /** Requests in flight: raw loops, or pipeline workers. */
  inFlight: number;
  compressionLevel: number;
  /** The raw case this one is compared with. */
  baseline?: Case;
  runs: RunTime[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Timed runs per case, interleaved, so that a disturbance (another process on the machine)
 * hits every case; the median run is reported.
 */
const ROUNDS = 5;

export async function runElasticsearchBench(seconds = 3): Promise<Array<Record<string, string>>> {
  const es = await startElasticsearch({ heap: HEAP, javaOptions: ['-XX:TieredStopAtLevel=4'] });
  try {
    const config = loadConfig({
      text: [
        'flowship.inputs: [{type: netflow}]',
        `output.elasticsearch: {hosts: [${JSON.stringify(es.url)}], compression_level: 0}`,
        '',
      ].join('\n'),
    });
    const out = config.output as ElasticsearchOutputConfig;
    const input = config.flowship.inputs[0] as NetflowInputConfig;
    const batchSize = Math.min(out.bulk_max_size, config.queue.mem.events);
    const setup = new Connection(clientOptions(out));
    try {
      await installTemplates(setup, indexTemplates());
    } finally {
      await setup.close();
    }

    let run = 0;
    /** Runs one case into data streams of a new namespace; flushes them before the next clock starts. */
    const measure = async (c: Case, corpus: Corpus): Promise<RunTime> => {
      const ns = `bench${run++}`;
      const time =
        c.kind === 'raw'
          ? await rawRun(es, corpus, ns, batchSize, c.inFlight)
          : await flowshipRun(es, config, corpus, ns, c.inFlight, c.compressionLevel);
      await es.request('POST', `/logs-${DATASET}-${ns}/_flush`, undefined, { timeoutMs: 120_000 });
      return time;
    };

    const raw1: Case = {
      name: 'raw _bulk (fetch), 1 in flight, uncompressed',
      kind: 'raw',
      inFlight: 1,
      compressionLevel: 0,
      runs: [],
    };
    const raw2: Case = {
      ...raw1,
      name: 'raw _bulk (fetch), 2 in flight, uncompressed',
      inFlight: 2,
      runs: [],
    };
    const flowship1: Case = {
      name: 'flowship, 1 worker, compression_level 0',
      kind: 'flowship',
      inFlight: 1,
      compressionLevel: 0,
      baseline: raw1,
      runs: [],
    };
    const cases: Case[] = [
      raw1,
      flowship1,
      raw2,
      {
        ...flowship1,
        name: 'flowship, 2 workers, compression_level 0',
        inFlight: 2,
        baseline: raw2,
        runs: [],
      },
      {
        ...flowship1,
        name: 'flowship, 1 worker, compression_level 1 (default)',
        compressionLevel: 1,
        runs: [],
      },
    ];

    // warm-up: every case once on a smaller corpus (the node's JIT and Node's)
    const warm = buildCorpus(input, 20 * batchSize);
    for (const c of cases) await measure(c, warm);
    // about `seconds` per run at 20k documents/s; every round starts with the next case, so
    // that no case always runs right after the same other one
    const corpus = buildCorpus(input, Math.max(10, Math.round((20_000 * seconds) / batchSize)) * batchSize);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < cases.length; k++) {
        const c = cases[(round + k) % cases.length];
        c.runs.push(await measure(c, corpus));
      }
    }

    const docs = corpus.json.length;
    const rate = (c: Case) => median(c.runs.map((r) => docs / r.seconds));
    const perDoc = (c: Case, key: 'clientCpuSeconds' | 'serverCpuSeconds') => {
      const us = (median(c.runs.map((r) => r[key])) / docs) * 1e6;
      return Number.isNaN(us) ? '-' : us.toFixed(1);
    };
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    return cases.map((c) => ({
      case: c.name,
      docs: `${fmt(docs)} x ${c.runs.length}`,
      'seconds per run': c.runs.map((r) => r.seconds.toFixed(2)).join(' / '),
      'docs/s (median)': fmt(rate(c)),
      'ratio vs raw': c.baseline === undefined ? '-' : (rate(c) / rate(c.baseline)).toFixed(2),
      'node CPU µs/doc': perDoc(c, 'clientCpuSeconds'),
      'ES CPU µs/doc': perDoc(c, 'serverCpuSeconds'),
    }));
  } finally {
    await es.dispose();
  }
}
