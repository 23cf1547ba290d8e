/**
 * The exporter of the receive benchmark (bench/netflow-receive.ts), run as its own process so that
 * it can be pinned to a core of its own: sends a template datagram (none for NetFlow v5, which has
 * no templates), then data datagrams at a fixed rate for a fixed time, the template again every
 * {@link TEMPLATE_EVERY} datagrams, from one UDP socket (one exporter session). Prints one JSON
 * line with what it sent.
 *
 * Each datagram leaves as a fresh copy with its header's sequence number rewritten, so the
 * receivers see one exporter whose stream never jumps: NetFlow v9 counts export packets
 * (RFC 3954 §5.1), IPFIX counts data records sent before the message (RFC 7011 §3.1), and so does
 * NetFlow v5 (`flow_sequence`, header bytes 16..19: flows seen before this packet).
 *
 * Pacing: every wake-up (a 1 ms timer) sends what the schedule says is due by now, so datagrams
 * leave in small bursts, as from a router's export process. If the loop cannot keep up, the
 * achieved rate printed falls short of the target: the benchmark reports the sender as the limit.
 *
 * Usage: node bench/netflow-receive-sender.ts '<JSON SenderJob>'
 */
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SenderJob {
  port: number;
  /** 5, 9 or 10: where the sequence number is and what it counts. */
  version: 5 | 9 | 10;
  /** Data datagrams per second. */
  rate: number;
  seconds: number;
  /** The template datagram (base64); none for NetFlow v5. */
  template?: string;
  /** Data datagrams (base64), sent round-robin. */
  data: string[];
  /** Flow records in each data datagram. */
  flows: number[];
}

export interface SenderResult {
  /** Data datagrams sent (templates not counted). */
  datagrams: number;
  templates: number;
  /** Flow records in the data datagrams sent. */
  flows: number;
  /** From the first to the last data datagram. */
  seconds: number;
  /** Achieved data datagrams per second. */
  rate: number;
  /** Send errors reported by the socket. */
  errors: number;
}

/** A template datagram goes out before the first data datagram and after every this many. */
export const TEMPLATE_EVERY = 1000;
/**
 * Pause after the first template: GoFlow2 decodes on several goroutines, so a data datagram
 * right behind the template could be decoded before the template is stored.
 */
const TEMPLATE_HEAD_START_MS = 50;

export async function send(job: SenderJob): Promise<SenderResult> {
  const template = job.template === undefined ? undefined : Buffer.from(job.template, 'base64');
  const data = job.data.map((d) => Buffer.from(d, 'base64'));
  const total = Math.max(1, Math.round(job.rate * job.seconds));
  const socket = createSocket('udp4');
  let errors = 0;
  socket.on('error', () => errors++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.connect(job.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));

  let packets = 0; // v9 sequence
  let records = 0; // IPFIX and v5 sequence (flows before this packet)
  let templates = 0;
  let flows = 0;
  const emit = (source: Buffer, recordCount: number) => {
    const copy = Buffer.from(source); // a queued send keeps its buffer: never rewrite one in flight
    if (job.version === 9) copy.writeUInt32BE(packets >>> 0, 12);
    else if (job.version === 10) copy.writeUInt32BE(records >>> 0, 8);
    else copy.writeUInt32BE(records >>> 0, 16);
    packets++;
    records += recordCount;
    socket.send(copy, (err) => {
      if (err) errors++;
    });
  };
  const sendTemplate = () => {
    if (template === undefined) return;
    emit(template, 0);
    templates++;
  };

  if (template !== undefined) {
    sendTemplate();
    await sleep(TEMPLATE_HEAD_START_MS);
  }
  let sent = 0;
  const started = performance.now();
  let last = started;
  while (sent < total) {
    const due = Math.min(total, Math.floor((job.rate * (performance.now() - started)) / 1000) + 1);
    while (sent < due) {
      if (sent > 0 && sent % TEMPLATE_EVERY === 0) sendTemplate();
      const i = sent % data.length;
      emit(data[i], job.flows[i]);
      flows += job.flows[i];
      sent++;
    }
    last = performance.now();
    if (sent < total) await sleep(1);
  }
  // let the last sends' callbacks run before closing
  await sleep(20);
  socket.close();
  const seconds = (last - started) / 1000;
  return {
    datagrams: sent,
    templates,
    flows,
    seconds,
    rate: seconds > 0 ? (sent - 1) / seconds : job.rate,
    errors,
  };
}

if (process.argv[2] !== undefined && import.meta.filename === process.argv[1]) {
  const result = await send(JSON.parse(process.argv[2]) as SenderJob);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
