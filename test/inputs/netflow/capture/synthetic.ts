/**
 * Byte-by-byte builders of frames and capture files for the capture tests. Deliberately written
 * from the specifications independently of src/inputs/netflow/capture/pcap.ts.
 */

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function be16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}

export function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

export function le16(v: number): number[] {
  return be16(v).reverse();
}

export function le32(v: number): number[] {
  return be32(v).reverse();
}

function u16(le: boolean, v: number): number[] {
  return le ? le16(v) : be16(v);
}

function u32(le: boolean, v: number): number[] {
  return le ? le32(v) : be32(v);
}

export function ipv4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

/** Full (uncompressed) textual IPv6 only: eight groups. */
export function ipv6Bytes(text: string): number[] {
  return text.split(':').flatMap((g) => be16(Number.parseInt(g, 16)));
}

/** A recognisable payload: a NetFlow v5-looking header (version 5) followed by filler. */
export function payload(length: number, tag = 0): Uint8Array {
  const p = new Uint8Array(length);
  p.set(be16(5));
  for (let i = 2; i < length; i++) p[i] = (i + tag) & 0xff;
  return p;
}

export function udp(srcPort: number, dstPort: number, body: Uint8Array, lengthOverride?: number): Uint8Array {
  return concat(be16(srcPort), be16(dstPort), be16(lengthOverride ?? body.length + 8), be16(0), body);
}

export interface Ipv4Options {
  src?: string;
  dst?: string;
  protocol?: number;
  id?: number;
  /** Fragment offset in bytes (multiple of 8). */
  fragmentOffset?: number;
  more?: boolean;
  /** IP options (length a multiple of 4). */
  options?: number[];
  totalLengthOverride?: number;
}

export function ipv4(body: Uint8Array, o: Ipv4Options = {}): Uint8Array {
  const options = o.options ?? [];
  const ihl = 5 + options.length / 4;
  const total = o.totalLengthOverride ?? ihl * 4 + body.length;
  const flagsOffset = (o.more ? 0x2000 : 0) | ((o.fragmentOffset ?? 0) / 8);
  return concat(
    [0x40 | ihl, 0],
    be16(total),
    be16(o.id ?? 0x1234),
    be16(flagsOffset),
    [64, o.protocol ?? 17],
    be16(0),
    ipv4Bytes(o.src ?? '192.0.2.1'),
    ipv4Bytes(o.dst ?? '198.51.100.7'),
    options,
    body,
  );
}

export const V6_SRC = '2001:0db8:0000:0000:0000:0000:0000:0001';
export const V6_DST = '2001:0db8:0000:0001:0000:0000:0000:00fe';

/** IPv6 header; `body` holds any extension headers already chained by the caller. */
export function ipv6(nextHeader: number, body: Uint8Array, src = V6_SRC, dst = V6_DST): Uint8Array {
  return concat([0x60, 0, 0, 0], be16(body.length), [nextHeader, 64], ipv6Bytes(src), ipv6Bytes(dst), body);
}

/** Hop-by-hop / routing / destination options header of `8 * (extraUnits + 1)` bytes. */
export function extensionHeader(nextHeader: number, extraUnits = 0): number[] {
  const h = new Array<number>(8 * (extraUnits + 1)).fill(0);
  h[0] = nextHeader;
  h[1] = extraUnits;
  h[2] = 1; // PadN option, so the options area is well formed
  h[3] = h.length - 4;
  return h;
}

export function fragmentHeader(nextHeader: number, offset: number, more: boolean, id: number): number[] {
  return [nextHeader, 0, ...be16(offset | (more ? 1 : 0)), ...be32(id)];
}

export const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
export const MAC_B = [0x02, 0, 0, 0, 0, 0x0b];

export function ethernet(etherType: number, body: Uint8Array, tags: [number, number][] = []): Uint8Array {
  const tagBytes = tags.flatMap(([tpid, vid]) => [...be16(tpid), ...be16(vid)]);
  return concat(MAC_B, MAC_A, tagBytes, be16(etherType), body);
}

export function sll(protocol: number, body: Uint8Array): Uint8Array {
  return concat(be16(0), be16(1), be16(6), [...MAC_A, 0, 0], be16(protocol), body);
}

export function sll2(protocol: number, body: Uint8Array): Uint8Array {
  return concat(be16(protocol), be16(0), be32(3), be16(1), [0, 6], [...MAC_A, 0, 0], body);
}

export interface PcapRecord {
  seconds: number;
  fraction: number;
  data: Uint8Array;
  /** Bytes of `data` written (default all); origlen is always data.length. */
  caplen?: number;
}

export function pcapFile(
  linktype: number,
  records: PcapRecord[],
  { le = true, nano = false }: { le?: boolean; nano?: boolean } = {},
): Uint8Array {
  const parts: (Uint8Array | number[])[] = [
    u32(le, nano ? 0xa1b23c4d : 0xa1b2c3d4),
    u16(le, 2),
    u16(le, 4),
    u32(le, 0),
    u32(le, 0),
    u32(le, 262144),
    u32(le, linktype),
  ];
  for (const r of records) {
    const caplen = r.caplen ?? r.data.length;
    parts.push(u32(le, r.seconds), u32(le, r.fraction), u32(le, caplen), u32(le, r.data.length));
    parts.push(r.data.subarray(0, caplen));
  }
  return concat(...parts);
}

function pad4(bytes: Uint8Array | number[]): Uint8Array {
  const b = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
  return concat(b, new Uint8Array((4 - (b.length % 4)) % 4));
}

export function block(le: boolean, type: number, body: Uint8Array | number[]): Uint8Array {
  const padded = pad4(body);
  const length = 12 + padded.length;
  return concat(u32(le, type), u32(le, length), padded, u32(le, length));
}

export function option(le: boolean, code: number, value: number[]): Uint8Array {
  return concat(u16(le, code), u16(le, value.length), pad4(value));
}

export function shb(le: boolean, options: Uint8Array[] = []): Uint8Array {
  const body = concat(
    u32(le, 0x1a2b3c4d),
    u16(le, 1),
    u16(le, 0),
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  );
  return block(le, 0x0a0d0d0a, concat(body, ...options, options.length ? u32(le, 0) : []));
}

export function idb(le: boolean, linktype: number, options: Uint8Array[] = [], snaplen = 0): Uint8Array {
  return block(
    le,
    1,
    concat(u16(le, linktype), u16(le, 0), u32(le, snaplen), ...options, options.length ? u32(le, 0) : []),
  );
}

/** Timestamp in interface units, as a bigint split into the two 32-bit halves. */
export function epb(
  le: boolean,
  iface: number,
  ticks: bigint,
  data: Uint8Array,
  caplen = data.length,
): Uint8Array {
  return block(
    le,
    6,
    concat(
      u32(le, iface),
      u32(le, Number(ticks >> 32n)),
      u32(le, Number(ticks & 0xffffffffn)),
      u32(le, caplen),
      u32(le, data.length),
      pad4(data.subarray(0, caplen)),
    ),
  );
}

export function pb(le: boolean, iface: number, ticks: bigint, data: Uint8Array): Uint8Array {
  return block(
    le,
    2,
    concat(
      u16(le, iface),
      u16(le, 0),
      u32(le, Number(ticks >> 32n)),
      u32(le, Number(ticks & 0xffffffffn)),
      u32(le, data.length),
      u32(le, data.length),
      pad4(data),
    ),
  );
}

export function spb(le: boolean, data: Uint8Array): Uint8Array {
  return block(le, 3, concat(u32(le, data.length), pad4(data)));
}
