/**
 * The highest rate of real export datagrams over UDP that a receiver takes with zero drops:
 * `flowship run` (one netflow input, file output) against GoFlow2 v2.2.6 (`-format json
 * -transport file`) on the same export, in the same run, with the ratio (issue 5).
 *
 * - export: the captures of bench/netflow-decode.ts. NetFlow v5 (MikroTik, 30 records per packet)
 *   has no template: its packets are sent as captured. NetFlow v9 (Cisco ASR1001-X, one template
 *   + data packet) and IPFIX (Cisco, three packets) are split into one template-only datagram and
 *   the data-only datagrams, headers otherwise as captured. The sender
 *   (bench/netflow-receive-sender.ts, a process of its own) sends the template (v9, IPFIX), then
 *   the data datagrams round-robin at a fixed rate, the template again every 1,000 datagrams, with
 *   the sequence numbers rewritten to run on without a gap (v5 `flow_sequence` and IPFIX count
 *   flow records, v9 counts packets). `BENCH_EXPORTS=v5,v9,ipfix` (the default: all three, in that
 *   order) picks the exports to run;
 * - flowship: `bin/flowship.js run` with one netflow input on 127.0.0.1 (`workers: 1`, and
 *   `workers: 2` on the same one core, where the socket's thread only reads), default
 *   queue sizes), the file output (NDJSON, default rotation) and `http` for /metrics;
 * - GoFlow2: `goflow2 -listen netflow://127.0.0.1:0 -format json -transport file` with its
 *   defaults (1 socket, 2 decode workers, a 1,000,000-datagram queue), /metrics on `-addr`;
 * - zero drops, per step: no drop on the receiver's socket (the `drops` column of /proc/net/udp
 *   for its inode: only that socket counts, whatever else runs on the machine), none in the
 *   receiver (flowship: `discarded_events_total`, `dropped_events_total`; GoFlow2:
 *   `goflow2_flow_dropped_packets_total`), no decode error, every flow sent decoded (flowship
 *   `flows_total`; GoFlow2 v9 and IPFIX
 *   `goflow2_flow_process_nf_flowset_records_total{type="DataFlowSet"}`, v5
 *   `goflow2_flow_process_nf_flowset_total{version="5",type="DataFlowSet"}`, to which GoFlow2
 *   adds each v5 packet's record count, see {@link goflow2Decoded})
 *   within {@link keepUpMs} of the last datagram, so a receiver that only buffers (GoFlow2's
 *   queue holds minutes of traffic) fails, and then written (flowship
 *   `flowship_pipeline_events_acked_total`, GoFlow2: lines in its file);
 * - search: 1 s probes from {@link START_RATE} datagrams/s, doubling until one fails twice; then
 *   {@link FULL_STEPS} steps of `seconds` each, the first at the last probe that passed, the
 *   others bisecting. A step that fails is followed by a wait for the receiver to drain its backlog,
 *   or a restart (with a warm-up) if it does not within {@link SETTLE_MS};
 * - CPU: with taskset and two or more cores, the receiver is pinned to CPU 0 and the sender to
 *   the last CPU, so both receivers get one core each (GoFlow2's Go runtime then sizes GOMAXPROCS
 *   to 1) and never share it with the sender; `BENCH_PIN=0` leaves them unpinned. The CPU column
 *   is the receiver process's user + system time per flow in the best step (/proc/<pid>/stat),
 *   which depends less than the rates on what else runs on the machine.
 */

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ensureGoflow2, GOFLOW2_VERSION } from '../scripts/ensure-goflow2.ts';
import { splitDat } from '../src/inputs/netflow/capture/dat.ts';
import { readPcap } from '../src/inputs/netflow/capture/pcap.ts';
import { NetflowDecoder } from '../src/inputs/netflow/decoder/decoder.ts';
import { buildDictionary } from '../src/inputs/netflow/fields/dictionary.ts';
import { FLOWSHIP_BIN, type Spawned, start } from '../test/helpers/process.ts';
import { type SenderJob, type SenderResult, TEMPLATE_EVERY } from './netflow-receive-sender.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/netflow');
const SENDER = fileURLToPath(new URL('./netflow-receive-sender.ts', import.meta.url));

/** First probe rate, datagrams/s. */
const START_RATE = 500;
const MAX_PROBES = 10;
const PROBE_SECONDS = 1;
/** Full-length steps after the probes: one at the last probe that passed, then bisection. */
const FULL_STEPS = 5;
/** After a failed step, how long the receiver may take to work off its backlog before a restart. */
const SETTLE_MS = 5_000;
/** After the flows are decoded, how long writing them may take (flowship flushes every 1 s). */
const WRITE_TIMEOUT_MS = 4_000;
/** A step whose sender reached less than this share of the target rate is sender-limited. */
const SENDER_SHORTFALL = 0.97;
/** `BENCH_VERBOSE=1` prints every step on stderr. */
const VERBOSE = process.env.BENCH_VERBOSE === '1';

/** Time after the last datagram by which every flow must be decoded: 10 % of the step, >= 250 ms. */
export function keepUpMs(seconds: number): number {
  return Math.max(250, Math.round(seconds * 100));
}

// --- the export -----------------------------------------------------------------------------

interface Export {
  name: string;
  version: 5 | 9 | 10;
  /** Template sets only; none for NetFlow v5, which has no templates. */
  template?: Buffer;
  /** v9, IPFIX: data sets only, one datagram per captured packet that has any; v5: the packets. */
  data: Buffer[];
  /** Flow records per data datagram (counted by flowship's decoder). */
  flows: number[];
}

/**
 * The sets of a v9 or IPFIX packet as [id, bytes] (RFC 3954 §5, RFC 7011 §3.3):
 *
 *   +----------------+----------------+-------------------------------+
 *   | header (20/16) | set id | length | set body ...  | set | ...    |
 *   +----------------+----------------+-------------------------------+
 */
function sets(packet: Buffer): { header: Buffer; sets: Array<[number, Buffer]> } {
  const version = packet.readUInt16BE(0);
  const headerSize = version === 9 ? 20 : 16;
  const end = version === 10 ? packet.readUInt16BE(2) : packet.length;
  const out: Array<[number, Buffer]> = [];
  for (let off = headerSize; off + 4 <= end; ) {
    const length = packet.readUInt16BE(off + 2);
    if (length < 4 || off + length > end) break;
    out.push([packet.readUInt16BE(off), packet.subarray(off, off + length)]);
    off += length;
  }
  return { header: packet.subarray(0, headerSize), sets: out };
}

/** Template records in a v9 template flowset (id 0): template id, field count, fields. */
function v9TemplateRecords(set: Buffer): number {
  let n = 0;
  for (let off = 4; off + 4 <= set.length; n++) off += 4 + 4 * set.readUInt16BE(off + 2);
  return n;
}

/** A packet of `header` and `body` sets, with v9 `count` or IPFIX `length` set. */
function packet(header: Buffer, body: Buffer[], v9Count: number): Buffer {
  const out = Buffer.concat([header, ...body]);
  if (out.readUInt16BE(0) === 9) out.writeUInt16BE(v9Count, 2);
  else out.writeUInt16BE(out.length, 2);
  return out;
}

/** v9 or IPFIX packets as one datagram of all their template sets and data-only datagrams. */
function splitTemplates(packets: Buffer[]): { template: Buffer; data: Buffer[] } {
  const version = packets[0].readUInt16BE(0);
  const isTemplate = (id: number) => id < 256;
  const templateRecords = (set: Buffer) => (version === 9 ? v9TemplateRecords(set) : 1);
  const templateSets: Buffer[] = [];
  const data: Buffer[] = [];
  for (const p of packets) {
    const s = sets(p);
    const templates = s.sets.filter(([id]) => isTemplate(id)).map(([, b]) => b);
    const dataSets = s.sets.filter(([id]) => !isTemplate(id)).map(([, b]) => b);
    templateSets.push(...templates);
    // v9 `count` is the packet's record count: what it was, less the template records moved out
    const count =
      version === 9 ? p.readUInt16BE(2) - templates.reduce((n, b) => n + templateRecords(b), 0) : 0;
    if (dataSets.length > 0) data.push(packet(s.header, dataSets, count));
  }
  const templateCount = templateSets.reduce((n, b) => n + templateRecords(b), 0);
  return { template: packet(sets(packets[0]).header, templateSets, templateCount), data };
}

function buildExport(name: string, packets: Buffer[]): Export {
  const version = packets[0].readUInt16BE(0);
  if (version !== 5 && version !== 9 && version !== 10) throw new Error(`${name}: version ${version}`);
  if (packets.some((p) => p.readUInt16BE(0) !== version)) throw new Error(`${name}: mixed versions`);
  // v5 has no templates: every packet is a data datagram, sent as captured
  const { template, data } = version === 5 ? { template: undefined, data: packets } : splitTemplates(packets);
  // what the receivers must make of it, by flowship's decoder
  const decoder = new NetflowDecoder({
    dictionary: buildDictionary({ compatibility: 'extended' }),
    detectSequenceReset: false,
    expirationTimeoutMs: 0,
  });
  const from = { ip: '192.0.2.1', address: '192.0.2.1:4444' };
  if (template !== undefined && decoder.decode(template, from).records.length !== 0)
    throw new Error(`${name}: template carries data`);
  const flows = data.map((d) => {
    const records = decoder.decode(d, from).records;
    if (records.length === 0 || records.some((r) => r.type !== 'netflow_flow'))
      throw new Error(`${name}: a data datagram decodes to no flow, or to other records`);
    return records.length;
  });
  return { name, version, template, data, flows };
}

/** The exports by their `BENCH_EXPORTS` key, in the order they run. */
const EXPORTS: Record<string, () => Export> = {
  v5: () => buildExport('NetFlow v5 (MikroTik)', dat('netflow5_test_microtik.dat')),
  v9: () => buildExport('NetFlow v9 (Cisco ASR1001-X)', dat('netflow9_cisco_asr1001x_tpl259.dat')),
  ipfix: () => buildExport('IPFIX (Cisco)', pcap('ipfix_cisco.pcap')),
};

function dat(file: string): Buffer[] {
  return splitDat(readFileSync(join(FIXTURES, 'dat', file))).map((p) => Buffer.from(p));
}

function pcap(file: string): Buffer[] {
  const path = join(FIXTURES, 'pcap', file);
  return [...readPcap(readFileSync(path), path)].map((d) => Buffer.from(d.payload));
}

/** The exports `BENCH_EXPORTS` names (comma-separated keys of {@link EXPORTS}), all by default. */
function benchExports(): Export[] {
  const keys = (process.env.BENCH_EXPORTS || Object.keys(EXPORTS).join(','))
    .split(',')
    .map((k) => k.trim().toLowerCase());
  const unknown = keys.filter((k) => !Object.hasOwn(EXPORTS, k));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_EXPORTS: unknown ${unknown.join(', ')} (known: ${Object.keys(EXPORTS).join(', ')})`,
    );
  return Object.keys(EXPORTS)
    .filter((k) => keys.includes(k))
    .map((k) => EXPORTS[k]());
}

function describe(e: Export): string {
  const flows = e.flows.reduce((a, b) => a + b, 0);
  const bytes = e.data.reduce((a, b) => a + b.length, 0);
  return `${e.name}, ${fmt(bytes / e.data.length)} B, ${(flows / e.data.length).toFixed(1).replace(/\.0$/, '')} flows/datagram`;
}

// --- CPU placement --------------------------------------------------------------------------

const CORES = cpus().length;
/** `BENCH_PIN=0` runs everything unpinned. */
const TASKSET = CORES >= 2 && process.env.BENCH_PIN !== '0' && spawnSync('taskset', ['-V']).status === 0;
const RECEIVER_CPU = 0;
const SENDER_CPU = CORES - 1;

/** `command args` pinned to `cpu` when taskset is there (taskset execs: the pid is the command's). */
function pinned(cpu: number, command: string, args: readonly string[]): Spawned {
  return TASKSET ? start('taskset', ['-c', String(cpu), command, ...args]) : start(command, args);
}

function rmemDefault(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8'));
  } catch {
    return undefined;
  }
}

/** Said next to the table: what runs, how the rate is searched and what "zero drops" means. */
export function netflowReceiveBenchSetup(seconds = 3): string {
  const rmem = rmemDefault();
  return [
    `Real exports over 127.0.0.1 UDP (v9, IPFIX: template datagram first and every ${fmt(TEMPLATE_EVERY)} datagrams), sequence numbers rewritten;`,
    `flowship run (workers: 1, and workers: 2 on the same one core: the socket's thread then only reads; file output, default queues) vs GoFlow2 ${GOFLOW2_VERSION} (-format json -transport file; 1 socket, 2 workers, queue 1,000,000);`,
    `both on the OS default receive buffer${rmem === undefined ? '' : ` (${fmt(rmem / 1024)} KiB)`}.`,
    TASKSET
      ? `Receiver pinned to CPU ${RECEIVER_CPU} (one core each; GoFlow2 gets GOMAXPROCS 1), sender (Node dgram) to CPU ${SENDER_CPU} (taskset).`
      : 'Not pinned (BENCH_PIN=0, no taskset or one core): sender and receiver share the cores.',
    `Zero drops = no kernel drop on the receiver's socket (/proc/net/udp), no receiver discard or decode error,`,
    `every flow decoded within ${keepUpMs(seconds)} ms of the last datagram (else "late"), then written.`,
    "CPU: the receiver process's user + system time per flow at that rate (/proc/<pid>/stat).",
    `Search: ${PROBE_SECONDS} s probes doubling from ${fmt(START_RATE)} datagrams/s until one fails twice, then ${FULL_STEPS} steps of ${seconds} s (last passing probe, then bisection).`,
  ].join('\n');
}

// --- receivers ------------------------------------------------------------------------------

interface Counters {
  /** Flow records decoded. */
  decoded: number;
  /** Flow records written to the output file. */
  written: number;
  /** Datagrams dropped inside the receiver (its datagram queue full). */
  discarded: number;
  /** Decoded flows dropped inside the receiver (its event queue full). */
  droppedFlows: number;
  decodeErrors: number;
  /** Datagrams the kernel dropped on the receiver's socket (receive buffer full). */
  kernelDrops: number;
  /** Bytes waiting in the socket's receive queue. */
  rxQueue: number;
  /** Flows or datagrams held inside the receiver, not yet written (queues, batches in flight). */
  inFlight: number;
  /** CPU time of the receiver process (user + system). */
  cpuSeconds: number;
}

interface Running {
  readonly port: number;
  /** Flow records decoded so far (cheap: polled while a step ends). */
  decoded(): Promise<number>;
  counters(): Promise<Counters>;
  /** Called when the receiver is idle: may drop output written so far (keeps disk use flat). */
  idle(): void;
  stop(): Promise<void>;
}

interface Receiver {
  readonly name: string;
  start(dir: string): Promise<Running>;
}

/** Inodes of the sockets `pid` has open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * The UDP sockets of `pid` from /proc/net/udp{,6}: port, `drops` (the last column: datagrams the
 * kernel dropped for this socket) and the receive queue in bytes.
 */
function udpSockets(pid: number): Array<{ port: number; drops: number; rxQueue: number }> {
  const inodes = socketInodes(pid);
  const out: Array<{ port: number; drops: number; rxQueue: number }> = [];
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f.length < 13 || !inodes.has(f[9])) continue;
      out.push({
        port: Number.parseInt(f[1].split(':')[1], 16),
        rxQueue: Number.parseInt(f[4].split(':')[1], 16),
        drops: Number(f[12]),
      });
    }
  }
  return out;
}

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/** User + system CPU seconds of `pid` (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/** Listening TCP ports of `pid`. */
function tcpListenPorts(pid: number): number[] {
  const inodes = socketInodes(pid);
  const ports: number[] = [];
  for (const row of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    if (f.length >= 10 && f[3] === '0A' && inodes.has(f[9]))
      ports.push(Number.parseInt(f[1].split(':')[1], 16));
  }
  return ports;
}

/** Sum of a Prometheus metric's samples whose labels pass `filter`. */
function metric(text: string, name: string, filter: (labels: string) => boolean = () => true): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m !== null && m[1] === name && filter(m[2] ?? '')) total += Number(m[3]);
  }
  return total;
}

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return response.text();
}

/** SIGTERM, SIGKILL after 10 s. */
async function stopProcess(spawned: Spawned): Promise<void> {
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), 10_000);
  try {
    await spawned.stop('SIGTERM');
  } finally {
    clearTimeout(timer);
  }
}

/** Kills the child if this process exits before it was stopped. */
function killOnExit(spawned: Spawned): void {
  const kill = () => spawned.child.kill('SIGKILL');
  process.once('exit', kill);
  spawned.child.once('exit', () => process.off('exit', kill));
}

/** `flowship run` with `workers` decoding threads (1: decoding on the socket's thread). */
const flowship = (workers: number): Receiver => ({
  name: workers === 1 ? 'flowship' : `flowship (workers: ${workers})`,
  async start(dir) {
    const config = join(dir, 'flowship.yml');
    writeFileSync(
      config,
      JSON.stringify({
        flowship: {
          inputs: [{ type: 'netflow', id: 'bench', host: '127.0.0.1', port: 0, workers }],
        },
        output: { file: { path: join(dir, 'events') } },
        path: { data: join(dir, 'data') },
        http: { enabled: true, host: '127.0.0.1', port: 0 },
        logging: { level: 'info' },
      }),
    );
    const spawned = pinned(RECEIVER_CPU, process.execPath, [FLOWSHIP_BIN, 'run', '-c', config]);
    killOnExit(spawned);
    try {
      await spawned.waitFor(/flowship started/, 30_000);
    } catch (error) {
      await stopProcess(spawned);
      throw error;
    }
    const log = spawned.stderr() + spawned.stdout();
    const port = Number(/listening for NetFlow\/IPFIX address=127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
    const httpPort = Number(/monitoring HTTP server listening address=.*"port":(\d+)/.exec(log)?.[1]);
    if (!(port > 0 && httpPort > 0)) {
      await stopProcess(spawned);
      throw new Error(`cannot find flowship's ports in its log:\n${log}`);
    }
    const pid = spawned.child.pid!;
    const url = `http://127.0.0.1:${httpPort}/metrics`;
    return {
      port,
      async decoded() {
        return metric(await fetchText(url), 'flowship_netflow_flows_total');
      },
      async counters() {
        const text = await fetchText(url);
        const socket = udpSockets(pid);
        return {
          decoded: metric(text, 'flowship_netflow_flows_total'),
          written: metric(text, 'flowship_pipeline_events_acked_total'),
          discarded: metric(text, 'flowship_netflow_discarded_events_total'),
          droppedFlows: metric(text, 'flowship_netflow_dropped_events_total'),
          decodeErrors: metric(text, 'flowship_netflow_decode_errors_total'),
          kernelDrops: socket.reduce((n, s) => n + s.drops, 0),
          rxQueue: socket.reduce((n, s) => n + s.rxQueue, 0),
          inFlight:
            metric(text, 'flowship_netflow_receive_queue_length') +
            metric(text, 'flowship_queue_events') +
            metric(text, 'flowship_pipeline_events_in_flight'),
          cpuSeconds: cpuSeconds(pid),
        };
      },
      idle() {
        // the file output rotates and keeps 7 files of 10 MiB: disk use is bounded already
      },
      stop: () => stopProcess(spawned),
    };
  },
});

/** Counts the lines GoFlow2 wrote, reading only what was appended since the last call. */
class LineCounter {
  private readonly path: string;
  private readonly buffer = Buffer.allocUnsafe(1 << 22);
  private offset = 0;
  private total = 0;

  constructor(path: string) {
    this.path = path;
  }

  /**
   * Lines so far: one `\n` per record, even where two workers' writes interleave into `{A}{B}`
   * followed by an empty line (GOFLOW2.md §1.5).
   */
  count(): number {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return this.total;
    }
    try {
      for (;;) {
        const n = readSync(fd, this.buffer, 0, this.buffer.length, this.offset);
        if (n === 0) break;
        const chunk = this.buffer.subarray(0, n);
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.total++;
        this.offset += n;
      }
    } finally {
      closeSync(fd);
    }
    return this.total;
  }

  /** Empties the file (GoFlow2 appends with O_APPEND, so it writes on at the new end). */
  truncate(): void {
    this.count();
    truncateSync(this.path, 0);
    this.offset = 0;
  }
}

/**
 * Flow records GoFlow2 v2.2.6 decoded, counted as each packet is turned into flow messages, before
 * they are written (metrics/producer.go, PromProducerWrapper.Produce; metrics/decoder.go):
 * - v9 and IPFIX: `flow_process_nf_flowset_records_total{type="DataFlowSet"}`, the records of each
 *   data set (recordCommonNetFlowMetrics, decoder.go);
 * - v5: that counter is never touched; instead the header's record count (`packet.Count`, as many
 *   records as DecodeMessage of decoders/netflowlegacy/netflow.go builds) is added to
 *   `flow_process_nf_flowset_total{version="5",type="DataFlowSet"}` (producer.go, lines 88..94),
 *   the counter that for v9 and IPFIX counts data sets, hence the version label.
 * Each run is one export, so the sum of both is the flows of that export.
 */
function goflow2Decoded(text: string): number {
  return (
    metric(text, 'goflow2_flow_process_nf_flowset_records_total', (l) => l.includes('type="DataFlowSet"')) +
    metric(
      text,
      'goflow2_flow_process_nf_flowset_total',
      (l) => l.includes('version="5"') && l.includes('type="DataFlowSet"'),
    )
  );
}

const goflow2: Receiver = {
  name: 'GoFlow2',
  async start(dir) {
    const binary = await ensureGoflow2();
    const file = join(dir, 'goflow2.log');
    const args = [
      '-listen',
      'netflow://127.0.0.1:0',
      '-addr',
      '127.0.0.1:0',
      '-format',
      'json',
      '-transport',
      'file',
      '-transport.file',
      file,
    ];
    const spawned = pinned(RECEIVER_CPU, binary, args);
    killOnExit(spawned);
    const pid = spawned.child.pid!;
    let httpPort = 0;
    const deadline = Date.now() + 15_000;
    // /__health answers 200 once every UDP socket is bound
    for (;;) {
      if (spawned.child.exitCode !== null)
        throw new Error(`goflow2 exited (${spawned.child.exitCode}):\n${spawned.stderr()}`);
      httpPort ||= tcpListenPorts(pid)[0] ?? 0;
      if (httpPort !== 0) {
        const ok = await fetch(`http://127.0.0.1:${httpPort}/__health`)
          .then(async (r) => {
            await r.arrayBuffer();
            return r.status === 200;
          })
          .catch(() => false);
        if (ok) break;
      }
      if (Date.now() > deadline) {
        await stopProcess(spawned);
        throw new Error(`goflow2 not ready after 15 s:\n${spawned.stderr()}`);
      }
      await sleep(20);
    }
    const port = udpSockets(pid)[0]?.port;
    if (port === undefined) {
      await stopProcess(spawned);
      throw new Error('goflow2 is collecting but holds no UDP socket');
    }
    const url = `http://127.0.0.1:${httpPort}/metrics`;
    const lines = new LineCounter(file);
    return {
      port,
      async decoded() {
        return goflow2Decoded(await fetchText(url));
      },
      async counters() {
        const text = await fetchText(url);
        const socket = udpSockets(pid);
        return {
          decoded: goflow2Decoded(text),
          written: lines.count(),
          discarded: metric(text, 'goflow2_flow_dropped_packets_total'),
          droppedFlows: 0,
          decodeErrors: metric(text, 'goflow2_flow_decoder_error_total'),
          kernelDrops: socket.reduce((n, s) => n + s.drops, 0),
          rxQueue: socket.reduce((n, s) => n + s.rxQueue, 0),
          // its decode workers write each flow as they produce it: nothing is held but the queue
          // of datagrams (not exposed), which a still `decoded` count shows to be empty
          inFlight: 0,
          cpuSeconds: cpuSeconds(pid),
        };
      },
      idle: () => lines.truncate(),
      stop: () => stopProcess(spawned),
    };
  },
};

// --- steps and search -----------------------------------------------------------------------

interface Step {
  rate: number;
  seconds: number;
  sent: SenderResult;
  pass: boolean;
  /** Why it failed ('' if it passed). */
  why: string;
  senderLimited: boolean;
  /** Receiver CPU time per flow sent, in microseconds. */
  cpuPerFlowUs: number;
}

async function runSender(job: SenderJob): Promise<SenderResult> {
  const args = [process.execPath, SENDER, JSON.stringify(job)];
  const child = TASKSET
    ? spawn('taskset', ['-c', String(SENDER_CPU), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    const line = out.trim().split('\n').at(-1) ?? '';
    if (code !== 0 || !line.startsWith('{')) throw new Error(`sender failed (${code}):\n${err}`);
    return JSON.parse(line) as SenderResult;
  } finally {
    process.off('exit', kill);
  }
}

function senderJob(e: Export, port: number, rate: number, seconds: number): SenderJob {
  return {
    port,
    version: e.version,
    rate,
    seconds,
    template: e.template?.toString('base64'),
    data: e.data.map((d) => d.toString('base64')),
    flows: e.flows,
  };
}

/** Sends at `rate` for `seconds` and judges the receiver by the rules in the file header. */
async function step(rx: Running, e: Export, rate: number, seconds: number): Promise<Step> {
  const before = await rx.counters();
  const sent = await runSender(senderJob(e, rx.port, rate, seconds));
  const keepUpDeadline = performance.now() + keepUpMs(seconds);
  let behind = sent.flows;
  for (;;) {
    behind = sent.flows - ((await rx.decoded()) - before.decoded);
    if (behind <= 0 || performance.now() > keepUpDeadline) break;
    await sleep(20);
  }
  let after = await rx.counters();
  const writeDeadline = performance.now() + WRITE_TIMEOUT_MS;
  while (behind <= 0 && after.written - before.written < sent.flows && performance.now() < writeDeadline) {
    await sleep(50);
    after = await rx.counters();
  }
  const kernelDrops = after.kernelDrops - before.kernelDrops;
  const discarded = after.discarded - before.discarded;
  const droppedFlows = after.droppedFlows - before.droppedFlows;
  const decodeErrors = after.decodeErrors - before.decodeErrors;
  const unwritten = sent.flows - (after.written - before.written);
  // flows of datagrams lost are never decoded: only what is missing beyond them is late (give or
  // take a datagram, as their flows are estimated from the mean; lost datagrams fail the step anyway)
  const lost = kernelDrops + discarded;
  const late = lost === 0 ? behind : behind - Math.ceil(lost * flowsPerDatagram(e)) - Math.max(...e.flows);
  const why = [
    kernelDrops > 0 ? `${fmt(kernelDrops)} kernel drops` : '',
    discarded > 0 ? `${fmt(discarded)} discarded` : '',
    droppedFlows > 0 ? `${fmt(droppedFlows)} flows dropped` : '',
    decodeErrors > 0 ? `${fmt(decodeErrors)} decode errors` : '',
    late > 0 ? `${pct(late / sent.flows)} late` : '',
    behind <= 0 && unwritten - droppedFlows !== 0 ? `${fmt(unwritten - droppedFlows)} unwritten` : '',
    sent.errors > 0 ? `${fmt(sent.errors)} send errors` : '',
  ]
    .filter((s) => s !== '')
    .join(', ');
  return {
    rate,
    seconds,
    sent,
    pass: why === '',
    why,
    senderLimited: sent.rate < rate * SENDER_SHORTFALL,
    cpuPerFlowUs: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / sent.flows,
  };
}

/**
 * Waits until the receiver has worked off what it holds (decoded and written counts still for
 * 300 ms, socket queue empty); false if that takes longer than {@link SETTLE_MS}.
 */
async function settle(rx: Running): Promise<boolean> {
  const deadline = performance.now() + SETTLE_MS;
  let last = await rx.counters();
  let stillSince = performance.now();
  for (;;) {
    await sleep(100);
    const now = await rx.counters();
    if (now.decoded !== last.decoded || now.written !== last.written || now.rxQueue > 0 || now.inFlight > 0)
      stillSince = performance.now();
    else if (performance.now() - stillSince >= 300) return true;
    if (performance.now() > deadline) return false;
    last = now;
  }
}

interface SearchResult {
  best: Step | undefined;
  /** The lowest rate that failed, with the reason. */
  failed: Step | undefined;
}

async function search(receiver: Receiver, e: Export, seconds: number): Promise<SearchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'flowship-bench-receive-'));
  let rx: Running | undefined;
  const fresh = async (warmRate: number) => {
    await rx?.stop();
    rx = await receiver.start(dir);
    // warm-up (JIT, page cache, template learned): not judged
    await step(rx, e, warmRate, PROBE_SECONDS);
    if (!(await settle(rx))) throw new Error(`${receiver.name} does not keep up with its warm-up`);
    rx.idle();
  };
  const judge = async (rate: number, length: number): Promise<Step> => {
    const s = await step(rx!, e, rate, length);
    if (VERBOSE)
      process.stderr.write(
        `  ${receiver.name} ${e.name}: ${fmt(rate)}/s for ${length} s (sent ${fmt(s.sent.rate)}/s): ${s.pass ? 'pass' : s.why}\n`,
      );
    if (s.pass) rx!.idle();
    else if (await settle(rx!)) rx!.idle();
    else await fresh(Math.max(START_RATE / 4, Math.round(rate / 4)));
    return s;
  };
  try {
    await fresh(START_RATE / 2);
    let probeFailed: Step | undefined;
    let low = 0;
    for (let i = 0, rate = START_RATE; i < MAX_PROBES; i++, rate *= 2) {
      // a probe is short: one hiccup (a GC pause, another process on the core) fails it, so a
      // failed probe gets a second chance before it caps the search
      let s = await judge(rate, PROBE_SECONDS);
      if (!s.pass) s = await judge(rate, PROBE_SECONDS);
      if (!s.pass) {
        probeFailed = s;
        break;
      }
      low = rate;
      if (s.senderLimited) break;
    }
    let high = probeFailed?.rate ?? low * 2;
    if (low === 0) low = START_RATE / 2;
    let best: Step | undefined;
    let failed: Step | undefined;
    for (let i = 0; i < FULL_STEPS; i++) {
      const rate = i === 0 ? low : Math.round((low + high) / 2);
      const s = await judge(rate, seconds);
      if (s.pass) {
        best = s;
        low = rate;
      } else {
        if (failed === undefined || rate < failed.rate) failed = s;
        high = rate;
        if (best === undefined) low = Math.round(rate / 2);
      }
    }
    return { best, failed: failed ?? probeFailed };
  } finally {
    await rx?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- the table ------------------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 2 : 0)} %`;

function flowsPerDatagram(e: Export): number {
  return e.flows.reduce((a, b) => a + b, 0) / e.flows.length;
}

function failure(r: SearchResult): string {
  if (r.failed === undefined) return r.best?.senderLimited ? 'none (sender-limited)' : 'none';
  return `${fmt(r.failed.rate)}/s: ${r.failed.why}`;
}

/**
 * One row per export and receiver: the highest zero-drop rate in datagrams/s and flows/s, the
 * receiver's CPU per flow at that rate, the lowest rate that failed and why, and on flowship's
 * row the ratios flowship/GoFlow2 of the zero-drop rates and of the flows per CPU-second.
 */
export async function runNetflowReceiveBench(seconds = 3): Promise<Array<Record<string, string>>> {
  const rows: Array<Record<string, string>> = [];
  for (const e of benchExports()) {
    const own = await search(flowship(1), e, seconds);
    const threaded = await search(flowship(2), e, seconds);
    const peer = await search(goflow2, e, seconds);
    const ratio = (r: SearchResult) =>
      (peer.best?.rate ?? 0) > 0 ? ((r.best?.rate ?? 0) / peer.best!.rate).toFixed(2) : '-';
    // flows per CPU-second against GoFlow2's: the per-core comparison
    const cpuRatio = (r: SearchResult) =>
      r.best !== undefined && peer.best !== undefined
        ? (peer.best.cpuPerFlowUs / r.best.cpuPerFlowUs).toFixed(2)
        : '-';
    for (const [name, r] of [
      ['flowship', own],
      ['flowship (workers: 2)', threaded],
      ['GoFlow2', peer],
    ] as const) {
      const rate = r.best?.rate ?? 0;
      rows.push({
        export: describe(e),
        receiver: name,
        'zero-drop datagrams/s': `${fmt(rate)}${r.best?.senderLimited ? ' (sender-limited)' : ''}`,
        'flows/s': fmt(rate * flowsPerDatagram(e)),
        'CPU µs/flow': r.best === undefined ? '-' : r.best.cpuPerFlowUs.toFixed(1),
        // the receiver's whole work per core: socket, decoding, documents, output
        'flows per CPU-second': r.best === undefined ? '-' : fmt(1e6 / r.best.cpuPerFlowUs),
        'lowest failing rate': failure(r),
        'flowship/GoFlow2': r === peer ? '' : ratio(r),
        'per CPU-second, flowship/GoFlow2': r === peer ? '' : cpuRatio(r),
      });
    }
  }
  return rows;
}
