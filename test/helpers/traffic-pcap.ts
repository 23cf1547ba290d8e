/**
 * Writes a deterministic traffic capture (libpcap, Ethernet) for exporters such as softflowd to
 * turn into NetFlow: TCP conversations with handshake and FIN, UDP exchanges, ICMP echoes, over
 * IPv4 and IPv6. Checksums are left zero: flow meters do not verify them.
 */
import { writeFileSync } from 'node:fs';
import { parseIp } from '../../src/ecs/ip.ts';

export interface TrafficFlowSpec {
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  sport: number;
  dport: number;
  /** Packets each way (TCP adds handshake and teardown packets). */
  packets: number;
  /** Payload bytes per data packet. */
  payload: number;
}

/** Fixed set of conversations exercising ports, protocols and both IP versions. */
export function defaultTraffic(count = 40): TrafficFlowSpec[] {
  const flows: TrafficFlowSpec[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 5;
    const v6 = i % 4 === 3;
    const src = v6 ? `2001:db8:1::${(i % 200) + 1}` : `10.1.${i % 7}.${(i % 200) + 1}`;
    const dst = v6 ? `2001:db8:2::${(i % 50) + 1}` : `192.0.2.${(i % 50) + 1}`;
    if (kind <= 2) {
      flows.push({
        src,
        dst,
        proto: 'tcp',
        sport: 40000 + i,
        dport: [80, 443, 22][kind],
        packets: 2 + (i % 6),
        payload: 100 + i * 7,
      });
    } else if (kind === 3) {
      flows.push({
        src,
        dst,
        proto: 'udp',
        sport: 50000 + i,
        dport: 53,
        packets: 1 + (i % 3),
        payload: 60 + i,
      });
    } else {
      flows.push({ src, dst, proto: 'icmp', sport: 0, dport: 0, packets: 1 + (i % 4), payload: 56 });
    }
  }
  return flows;
}

function ipHeader(
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  payloadLength: number,
  ttl: number,
): Buffer {
  if (src.length === 4) {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(20 + payloadLength, 2);
    h[8] = ttl;
    h[9] = proto;
    h.set(src, 12);
    h.set(dst, 16);
    return h;
  }
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payloadLength, 4);
  h[6] = proto;
  h[7] = ttl;
  h.set(src, 8);
  h.set(dst, 24);
  return h;
}

function transport(
  spec: TrafficFlowSpec,
  reverse: boolean,
  flags: number,
  payload: number,
  seq: number,
  v6: boolean,
) {
  const sport = reverse ? spec.dport : spec.sport;
  const dport = reverse ? spec.sport : spec.dport;
  if (spec.proto === 'tcp') {
    const h = Buffer.alloc(20 + payload);
    h.writeUInt16BE(sport, 0);
    h.writeUInt16BE(dport, 2);
    h.writeUInt32BE(seq >>> 0, 4);
    h[12] = 0x50;
    h[13] = flags;
    h.writeUInt16BE(65535, 14);
    return { proto: 6, bytes: h };
  }
  if (spec.proto === 'udp') {
    const h = Buffer.alloc(8 + payload);
    h.writeUInt16BE(sport, 0);
    h.writeUInt16BE(dport, 2);
    h.writeUInt16BE(8 + payload, 4);
    return { proto: 17, bytes: h };
  }
  const h = Buffer.alloc(8 + payload);
  h[0] = v6 ? (reverse ? 129 : 128) : reverse ? 0 : 8; // echo reply / request
  return { proto: v6 ? 58 : 1, bytes: h };
}

/** Builds the capture; returns the number of packets written. */
export function writeTrafficPcap(
  path: string,
  flows: readonly TrafficFlowSpec[],
  startSeconds = 1_700_000_000,
): number {
  const records: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // Ethernet
  records.push(header);
  let usec = 0;
  let count = 0;
  const emit = (spec: TrafficFlowSpec, reverse: boolean, flags: number, payload: number, seq: number) => {
    const s = parseIp(spec.src)!;
    const d = parseIp(spec.dst)!;
    const v6 = s.length === 16;
    const t = transport(spec, reverse, flags, payload, seq, v6);
    const ip = ipHeader(reverse ? d : s, reverse ? s : d, t.proto, t.bytes.length, 64);
    const eth = Buffer.alloc(14);
    eth.set([0x02, 0, 0, 0, 0, reverse ? 1 : 2], 0);
    eth.set([0x02, 0, 0, 0, 0, reverse ? 2 : 1], 6);
    eth.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
    const frame = Buffer.concat([eth, ip, t.bytes]);
    const rec = Buffer.alloc(16);
    usec += 1500;
    rec.writeUInt32LE(startSeconds + Math.floor(usec / 1e6), 0);
    rec.writeUInt32LE(usec % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    records.push(rec, frame);
    count++;
  };
  for (const spec of flows) {
    if (spec.proto === 'tcp') {
      emit(spec, false, 0x02, 0, 1); // SYN
      emit(spec, true, 0x12, 0, 1); // SYN-ACK
      for (let i = 0; i < spec.packets; i++) {
        emit(spec, false, 0x18, spec.payload, 2 + i);
        emit(spec, true, 0x10, spec.payload >> 1, 2 + i);
      }
      emit(spec, false, 0x11, 0, 100); // FIN
      emit(spec, true, 0x11, 0, 100);
      emit(spec, false, 0x10, 0, 101);
    } else {
      for (let i = 0; i < spec.packets; i++) {
        emit(spec, false, 0, spec.payload, i);
        emit(spec, true, 0, spec.payload, i);
      }
    }
  }
  writeFileSync(path, Buffer.concat(records));
  return count;
}
