/**
 * The goflow2 input's path on one core: tail -> GoFlow2 ECS mapping -> NDJSON, from real files.
 *
 * - `mapper`: the mapping and serialisation alone, on GoFlow2's default 50-key line (~1.2 KB)
 *   and on the 16-field line of Elastic's recommended mapping;
 * - `tail`: the goflow2 input (tailer, mapping, document ids) reading a pre-written file of
 *   default-format lines, each document serialised and acknowledged at once (no output I/O);
 * - `1,000 files`: memory (RSS and heap) while a Tailer follows 1,000 small files.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Goflow2Normalizer } from '../src/ecs/goflow2.ts';
import { Goflow2Input } from '../src/inputs/goflow2/goflow2-input.ts';
import type { EventSink } from '../src/inputs/input.ts';
import { createLogger } from '../src/monitoring/logger.ts';
import { eventJson } from '../src/pipeline/event.ts';

const DEFAULT_LINE =
  '{"type":"SFLOW_5","time_received_ns":1709065920620635488,"sequence_num":47142,"sampling_rate":1024,"sampler_address":"10.10.26.5","time_flow_start_ns":1709065920620635488,"time_flow_end_ns":1709065920620635488,"bytes":1518,"packets":1,"src_addr":"10.10.11.38","dst_addr":"10.10.11.54","etype":"IPv4","proto":"TCP","src_port":16443,"dst_port":57444,"in_if":0,"out_if":5031,"src_mac":"3c:ec:ef:fc:f7:38","dst_mac":"00:16:3e:c9:e3:eb","src_vlan":0,"dst_vlan":0,"vlan_id":0,"ip_tos":0,"forwarding_status":0,"ip_ttl":64,"ip_flags":2,"tcp_flags":16,"icmp_type":0,"icmp_code":0,"ipv6_flow_label":0,"fragment_id":25350,"fragment_offset":0,"src_as":0,"dst_as":0,"next_hop":"","next_hop_as":0,"src_net":"0.0.0.0/0","dst_net":"0.0.0.0/0","bgp_next_hop":"","bgp_communities":[],"as_path":[],"mpls_ttl":[],"mpls_label":[],"mpls_ip":[],"observation_domain_id":0,"observation_point_id":0,"layer_stack":["Ethernet","IPv4","TCP"],"layer_size":[14,20,20],"ipv6_routing_header_addresses":[],"ipv6_routing_header_seg_left":0}';
const SHORT_LINE =
  '{"type":"SFLOW_5","time_flow_start_ns":1722384059483524068,"sampler_address":"89.160.20.129","sequence_num":812,"in_if":561,"out_if":531,"src_addr":"81.2.69.193","dst_addr":"81.2.69.194","etype":"IPv4","proto":"TCP","src_port":6097,"dst_port":443,"src_vlan":1500,"dst_vlan":1500,"sampling_rate":2000,"bytes":1500}';

function lineWithSeq(template: string, seq: number): string {
  return template.replace(/"sequence_num":\d+/, `"sequence_num":${seq}`);
}

function mapperRate(template: string, seconds: number): number {
  const normalizer = new Goflow2Normalizer({ timezone: 'UTC' });
  const lines = Array.from({ length: 1000 }, (_, i) => lineWithSeq(template, i));
  let n = 0;
  let bytes = 0;
  const meta = { input: 'filestream' as const, path: '/var/log/sflow/goflow2/goflow2.log', offset: 0 };
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (const line of lines) {
      for (const { json } of normalizer.map(line, meta)) bytes += Buffer.byteLength(json) + 1;
      n++;
    }
  }
  if (bytes === 0) throw new Error('nothing serialised');
  return n / ((performance.now() - start) / 1000);
}

/**
 * Runs the goflow2 input (tailer, mapping, document ids) on every `*.log` under `dir/logs` with a
 * sink that serialises each event to its NDJSON line and acknowledges it at once (no output I/O),
 * until `expected` documents have gone through; returns the seconds that took. `atEnd` runs before
 * the input stops (to sample memory while it still follows the files).
 */
async function tailAll(dir: string, expected: number, atEnd: () => void = () => {}): Promise<number> {
  let seen = 0;
  let bytes = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const sink: EventSink = {
    tryPublish: () => false,
    publish: (event) => {
      bytes += Buffer.byteLength(eventJson(event)) + 1;
      event.ack?.ack();
      if (++seen === expected) done();
      return Promise.resolve();
    },
  };
  const input = new Goflow2Input({
    id: 'bench',
    tailer: { dataDir: join(dir, 'data'), paths: [join(dir, 'logs', '*.log')], wakeup: false },
    normalizer: new Goflow2Normalizer({ timezone: 'UTC' }),
    sink,
    logger: createLogger({ level: 'error' }),
  });
  const start = performance.now();
  await input.start();
  await finished;
  const seconds = (performance.now() - start) / 1000;
  if (bytes === 0) throw new Error('nothing serialised');
  atEnd();
  await input.stop();
  return seconds;
}

/** A temporary directory with a `logs` folder, removed after `body`. */
async function withLogs<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    mkdirSync(join(dir, 'logs'));
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function tailRate(lines: number): Promise<{ perSecond: number; mbPerSecond: number }> {
  return withLogs('flowship-bench-tail-', async (dir) => {
    const text = Array.from({ length: lines }, (_, i) => `${lineWithSeq(DEFAULT_LINE, i)}\n`).join('');
    writeFileSync(join(dir, 'logs', 'goflow2.log'), text);
    const seconds = await tailAll(dir, lines);
    return { perSecond: lines / seconds, mbPerSecond: text.length / 1e6 / seconds };
  });
}

function manyFiles(files: number): Promise<{ rssMiB: number; heapMiB: number; seconds: number }> {
  return withLogs('flowship-bench-files-', async (dir) => {
    for (let f = 0; f < files; f++) {
      const text = Array.from({ length: 5 }, (_, i) => `${lineWithSeq(SHORT_LINE, f * 5 + i)}\n`).join('');
      writeFileSync(join(dir, 'logs', `f${f}.log`), text);
    }
    global.gc?.();
    const before = process.memoryUsage();
    let after = before;
    const seconds = await tailAll(dir, files * 5, () => {
      global.gc?.();
      after = process.memoryUsage();
    });
    return {
      rssMiB: (after.rss - before.rss) / 2 ** 20,
      heapMiB: (after.heapUsed - before.heapUsed) / 2 ** 20,
      seconds,
    };
  });
}

export async function runGoflow2Bench(seconds = 3): Promise<{
  throughput: Array<Record<string, string>>;
  memory: Array<Record<string, string>>;
}> {
  // warm-up: the JIT compiles the mapper and the tailer's path before anything is timed
  mapperRate(DEFAULT_LINE, 0.5);
  await tailRate(50_000);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const tail = await tailRate(200_000);
  const throughput = [
    {
      benchmark: 'map + NDJSON, default 50-key line (~1.2 KB)',
      'lines/s (1 core)': fmt(mapperRate(DEFAULT_LINE, seconds)),
    },
    {
      benchmark: 'map + NDJSON, 16-field line (~300 B)',
      'lines/s (1 core)': fmt(mapperRate(SHORT_LINE, seconds)),
    },
    {
      benchmark: `tail -> map -> NDJSON, 200k default lines (${tail.mbPerSecond.toFixed(0)} MB/s)`,
      'lines/s (1 core)': fmt(tail.perSecond),
    },
  ];
  const m = await manyFiles(1000);
  const memory = [
    {
      benchmark: '1,000 files followed (5 lines each, readers kept open)',
      'RSS growth (MiB)': m.rssMiB.toFixed(1),
      'heap growth (MiB)': m.heapMiB.toFixed(1),
      'time to read all (s)': m.seconds.toFixed(2),
    },
  ];
  return { throughput, memory };
}
