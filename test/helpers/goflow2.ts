/**
 * Drives the real GoFlow2 collector (built by scripts/ensure-goflow2.ts) for end-to-end tests and
 * the benchmark: starts it listening for sFlow on loopback and writing JSON lines to a file, waits
 * until it collects, sends it datagrams, makes it reopen its file (SIGHUP), stops it (SIGTERM).
 *
 * GoFlow2 v2.2.6 flags used: `-listen sflow://127.0.0.1:<port>?workers=1` (see
 * {@link Goflow2Options.listen}), `-format json -transport file -transport.file <path>`, and
 * `-addr 127.0.0.1:<port>` for its HTTP server (the default `:8080` binds every interface and,
 * if taken, makes GoFlow2 exit). Both ports are ephemeral, read back from /proc on Linux.
 * Readiness is the `/__health` endpoint, which answers 200 only once every UDP socket is bound,
 * so no probe sample pollutes the file.
 */
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync, readlinkSync, type Stats, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { ensureGoflow2 } from '../../scripts/ensure-goflow2.ts';
import { freeUdpPort, type Spawned, start } from './process.ts';
import type { Goflow2Line } from './sflow.ts';

export interface Goflow2Options {
  /** Output file (`-transport.file`); GoFlow2 creates it, appends, and reopens it on SIGHUP. */
  file: string;
  /** The binary (default: {@link ensureGoflow2}, which builds it once). */
  binary?: string;
  /** UDP port to listen on (default: an ephemeral one; see {@link Goflow2.port}). */
  port?: number;
  /**
   * Options of the listen URL (`sflow://127.0.0.1:<port>?workers=1`). Default `{ workers: 1 }`:
   * one decode worker writes records one after the other, so every line is one JSON object.
   * GoFlow2's own default (`{}`: 1 socket, 2 workers) lets two workers write at once, which
   * now and then leaves `{A}{B}` and an empty line in the file (GOFLOW2.md §1.5); read such a
   * file with {@link readRecords}.
   */
  listen?: { count?: number; workers?: number; blocking?: boolean; queue_size?: number };
  /** More arguments, e.g. `['-mapping', path]`. */
  args?: readonly string[];
  /** How long to wait for `/__health` (default 15 s). */
  readyTimeoutMs?: number;
}

export interface Goflow2 {
  readonly file: string;
  /** UDP port of the sFlow listener on 127.0.0.1. */
  readonly port: number;
  /** Port of the HTTP server (`/__health`, `/metrics`) on 127.0.0.1. */
  readonly httpPort: number;
  readonly pid: number;
  readonly process: Spawned;
  /**
   * Sends the datagrams to the listener, in order, `burst` (default 16) at a time, and after each
   * burst waits until GoFlow2 has taken them all off its socket ({@link received}). A burst lost
   * in the kernel (a full receive buffer: RcvbufErrors in /proc/net/snmp) fails loudly instead of
   * leaving lines missing. One `send` at a time per collector.
   */
  send(
    datagrams: Uint8Array | readonly Uint8Array[],
    options?: { burst?: number; timeoutMs?: number },
  ): Promise<void>;
  /** Datagrams GoFlow2 has read and handed to its decoders (`goflow2_flow_traffic_packets_total`). */
  received(): Promise<number>;
  /** Waits until `file` holds at least `count` complete lines; returns them all. */
  waitForLines(count: number, timeoutMs?: number): Promise<string[]>;
  /**
   * SIGHUP: GoFlow2 closes its file and opens the path again (O_APPEND|O_CREATE). If the file was
   * moved or removed, resolves once GoFlow2 holds the new file at the path open; otherwise
   * (nothing observable changes) after a short grace period.
   */
  reopen(timeoutMs?: number): Promise<void>;
  /** The Prometheus text of `/metrics`. */
  metrics(): Promise<string>;
  /** SIGTERM (SIGKILL after `timeoutMs`, default 10 s); resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface SendOptions {
  host?: string;
  /**
   * Pause `pauseMs` (default 1) after every `burst` datagrams (default: no pauses). Unpaced, a
   * few dozen datagrams can overflow the receiver's socket buffer (about 200 KiB by default).
   */
  burst?: number;
  pauseMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port free right now on 127.0.0.1. */
export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

/** Sends datagrams over UDP from one socket, each after the previous one left. */
export async function sendDatagrams(
  port: number,
  datagrams: Uint8Array | readonly Uint8Array[],
  options: SendOptions = {},
): Promise<void> {
  const list = datagrams instanceof Uint8Array ? [datagrams] : datagrams;
  const host = options.host ?? '127.0.0.1';
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    for (let i = 0; i < list.length; i++) {
      await new Promise<void>((resolve, reject) =>
        socket.send(list[i], port, host, (error) => (error ? reject(error) : resolve())),
      );
      if (options.burst !== undefined && (i + 1) % options.burst === 0) await sleep(options.pauseMs ?? 1);
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** The complete (`\n`-terminated) lines of `path`, without terminators; [] if it does not exist. */
export function readCompleteLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n');
}

/**
 * The JSON objects in the complete lines of `path`, for files written by several GoFlow2 workers
 * at once: empty lines are skipped and a line holding `{A}{B}` gives both objects. (GoFlow2's
 * objects are flat and their strings hold no braces, so `}{` only occurs between two objects.)
 * This is a test convenience; the tailer must treat such a line as one malformed line.
 */
export function readRecords(path: string): string[] {
  return readCompleteLines(path).flatMap((line) =>
    line === ''
      ? []
      : line.split('}{').map((part, i, all) => `${i > 0 ? '{' : ''}${part}${i < all.length - 1 ? '}' : ''}`),
  );
}

/** Polls until `path` holds at least `count` complete lines. */
export async function waitForLines(path: string, count: number, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = readCompleteLines(path);
    if (lines.length >= count) return lines;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${count} lines in ${path}: ${lines.length} so far`);
    await sleep(25);
  }
}

/**
 * Parses a GoFlow2 JSON line; integers beyond ±(2^53 − 1), such as `time_received_ns`, become
 * `bigint` with every digit kept (JSON.parse source text access, Node 22+).
 */
export function parseGoflow2Line(line: string): Goflow2Line {
  return JSON.parse(line, (_key, value, context?: { source?: string }) =>
    typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value,
  ) as Goflow2Line;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** `dev:ino` of every file the process has open, from /proc (Linux); undefined elsewhere. */
function openFiles(pid: number): Set<string> | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const files = new Set<string>();
  for (const fd of fds) {
    const s = statOrUndefined(`/proc/${pid}/fd/${fd}`);
    if (s !== undefined) files.add(`${s.dev}:${s.ino}`);
  }
  return files;
}

/** Inodes of the sockets the process has open (`socket:[N]` links in /proc/<pid>/fd). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {}
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null) inodes.add(m[1]);
    } catch {}
  }
  return inodes;
}

/** Local ports of the given sockets in /proc/net/udp or /proc/net/tcp (TCP: listening only). */
function boundPorts(table: 'udp' | 'tcp', inodes: Set<string>): number[] {
  const ports: number[] = [];
  for (const row of readFileSync(`/proc/net/${table}`, 'utf8').split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    if (f.length < 10 || !inodes.has(f[9])) continue;
    if (table === 'tcp' && f[3] !== '0A') continue; // TCP_LISTEN
    ports.push(Number.parseInt(f[1].split(':')[1], 16));
  }
  return ports;
}

/**
 * On Linux GoFlow2 binds ephemeral ports (`:0`) and the ports are read back from /proc: no race
 * with other processes picking "free" ports. This matters for UDP: GoFlow2 binds with
 * SO_REUSEPORT, so a second collector on a taken port starts fine and silently gets part of the
 * traffic. Elsewhere, free ports are chosen beforehand.
 */
const PROC_NET = existsSync('/proc/net/udp') && existsSync('/proc/net/tcp');

async function startOnce(options: Goflow2Options, binary: string): Promise<Goflow2> {
  const ephemeral = PROC_NET;
  let port = options.port ?? (ephemeral ? 0 : await freeUdpPort());
  let httpPort = ephemeral ? 0 : await freeTcpPort();
  const query = Object.entries(options.listen ?? { workers: 1 })
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const listen = `sflow://127.0.0.1:${port}${query === '' ? '' : `?${query}`}`;
  const args = [
    '-listen',
    listen,
    '-addr',
    `127.0.0.1:${httpPort}`,
    '-format',
    'json',
    '-transport',
    'file',
    '-transport.file',
    options.file,
    ...(options.args ?? []),
  ];
  const spawned = start(binary, args);
  const { child } = spawned;
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));

  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError !== undefined) throw new Error(`cannot run ${binary}: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `goflow2 exited (${child.exitCode ?? child.signalCode}) while starting:\n${spawned.stderr()}`,
      );
    if (ephemeral && httpPort === 0) httpPort = boundPorts('tcp', socketInodes(child.pid!))[0] ?? 0;
    if (httpPort !== 0) {
      try {
        const response = await fetch(`http://127.0.0.1:${httpPort}/__health`);
        await response.arrayBuffer();
        if (response.status === 200) break; // every UDP socket is bound
      } catch {
        // not serving yet
      }
    }
    if (Date.now() > deadline) {
      await spawned.stop('SIGKILL');
      throw new Error(`goflow2 not ready after ${timeoutMs} ms:\n${spawned.stderr()}`);
    }
    await sleep(20);
  }
  if (port === 0) {
    const ports = boundPorts('udp', socketInodes(child.pid!));
    if (ports.length === 0) throw new Error('goflow2 is collecting but holds no UDP socket');
    port = ports[0];
  }
  const pid = child.pid!;
  const base = `http://127.0.0.1:${httpPort}`;

  const received = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    let total = 0;
    for (const m of text.matchAll(/^goflow2_flow_traffic_packets_total\{[^}]*\} (\S+)$/gm))
      total += Number(m[1]);
    return total;
  };

  return {
    file: options.file,
    port,
    httpPort,
    pid,
    process: spawned,
    async send(datagrams, sendOptions = {}) {
      const list = datagrams instanceof Uint8Array ? [datagrams] : datagrams;
      const burst = sendOptions.burst ?? 16;
      const base = await received();
      for (let sent = 0; sent < list.length; ) {
        const chunk = list.slice(sent, sent + burst);
        await sendDatagrams(port, chunk);
        sent += chunk.length;
        const deadline = Date.now() + (sendOptions.timeoutMs ?? 5_000);
        for (;;) {
          const got = (await received()) - base;
          if (got >= sent) break;
          if (Date.now() > deadline)
            throw new Error(
              `goflow2 read ${got} of the ${sent} datagrams sent so far: lost on the way ` +
                '(receive buffer overflow? see RcvbufErrors in /proc/net/snmp)',
            );
          await sleep(5);
        }
      }
    },
    received,
    waitForLines: (count, timeoutMs) => waitForLines(options.file, count, timeoutMs),
    async reopen(timeoutMs = 5_000) {
      const before = statOrUndefined(options.file);
      child.kill('SIGHUP');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`goflow2 exited on SIGHUP:\n${spawned.stderr()}`);
        const now = statOrUndefined(options.file);
        if (now !== undefined) {
          if (before !== undefined && now.dev === before.dev && now.ino === before.ino) {
            await sleep(100); // same file: the reopen cannot be observed
            return;
          }
          const open = openFiles(pid);
          if (open === undefined || open.has(`${now.dev}:${now.ino}`)) return;
        }
        if (Date.now() > deadline) throw new Error(`goflow2 did not reopen ${options.file} after SIGHUP`);
        await sleep(10);
      }
    },
    async metrics() {
      const response = await fetch(`${base}/metrics`);
      return response.text();
    },
    async stop(timeoutMs = 10_000) {
      const exited = spawned.stop('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Starts GoFlow2 and resolves once it collects. Where ports are chosen beforehand (no /proc), an
 * HTTP port taken in between makes GoFlow2 exit; it is then retried on new ports, twice.
 */
export async function startGoflow2(options: Goflow2Options): Promise<Goflow2> {
  const binary = options.binary ?? (await ensureGoflow2());
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, binary);
    } catch (error) {
      const raced = /address already in use/.test((error as Error).message);
      if (!raced || attempt >= 3 || options.port !== undefined) throw error;
    }
  }
}
