/**
 * NetFlow v5 datagrams for process-level tests: flow `k` of a run gets a source address and
 * port derived from `k` (source address `uniqueIp(k)` of es-checks.ts), so that every flow is one unique `source.ip` in Elasticsearch and a
 * terms aggregation tells a lost flow from a duplicated one.
 *
 * Layout (Cisco, "NetFlow Export Datagram Format", version 5):
 *
 *   header, 24 bytes                       record, 48 bytes (up to 30 per datagram)
 *    0  version = 5              u16        0  srcaddr  u32     28  last       u32
 *    2  count                    u16        4  dstaddr  u32     32  srcport    u16
 *    4  sys_uptime (ms)          u32        8  nexthop  u32     34  dstport    u16
 *    8  unix_secs                u32       12  input    u16     36  pad1       u8
 *   12  unix_nsecs               u32       14  output   u16     37  tcp_flags  u8
 *   16  flow_sequence            u32       16  dPkts    u32     38  prot       u8
 *   20  engine_type, engine_id   u8, u8    20  dOctets  u32     39  tos        u8
 *   22  sampling_interval        u16       24  first    u32     40  src_as, dst_as, masks, pad2
 */

/**
 * One datagram with flows `first` .. `first + count - 1` (count ≤ 30). `sequence` is the v5
 * flow sequence (flows exported before this datagram), so it is `first` for a single exporter.
 */
export function netflowV5Datagram(first: number, count: number, nowMs = Date.now()): Buffer {
  if (count < 1 || count > 30) throw new RangeError(`count must be 1 to 30, got ${count}`);
  const buf = Buffer.alloc(24 + 48 * count);
  const uptime = 3_600_000;
  buf.writeUInt16BE(5, 0);
  buf.writeUInt16BE(count, 2);
  buf.writeUInt32BE(uptime, 4);
  buf.writeUInt32BE(Math.floor(nowMs / 1000), 8);
  buf.writeUInt32BE((nowMs % 1000) * 1_000_000, 12);
  buf.writeUInt32BE(first >>> 0, 16);
  for (let i = 0; i < count; i++) {
    const k = first + i;
    const at = 24 + 48 * i;
    buf.writeUInt32BE((0x0a000000 + (k & 0xffffff)) >>> 0, at);
    buf.writeUInt32BE(0xc0a80101, at + 4); // 192.168.1.1
    buf.writeUInt16BE(1, at + 12);
    buf.writeUInt16BE(2, at + 14);
    buf.writeUInt32BE(1 + (k % 7), at + 16);
    buf.writeUInt32BE(100 + (k % 1000), at + 20);
    buf.writeUInt32BE(uptime - 2000, at + 24);
    buf.writeUInt32BE(uptime - 1000, at + 28);
    buf.writeUInt16BE(1024 + (k % 60000), at + 32);
    buf.writeUInt16BE(443, at + 34);
    buf.writeUInt8(0x18, at + 37);
    buf.writeUInt8(6, at + 38);
  }
  return buf;
}
