/**
 * IP addresses as bytes, the way Go's `net.IP` treats them, because the documents must match what
 * Filebeat renders (NETFLOW.md 3.4, 4.1):
 *
 * - an address is a `Uint8Array` of 4 bytes (IPv4) or 16 bytes (IPv6);
 * - an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, bytes 0-9 zero, 10-11 0xff) is the same
 *   address as its IPv4 form for comparisons with IPv4 ranges and for printing (dotted), but it
 *   keeps its 16 bytes where Filebeat hashes raw bytes (`flow.id`);
 * - text is parsed with the rules of Go's `netip.ParseAddr` (no zones, no leading zeros in IPv4
 *   octets, at most 4 hex digits a group, `::` standing for at least one group) and printed like
 *   `net.IP.String()`: RFC 5952 for IPv6, dotted for IPv4 and IPv4-mapped.
 *
 * Parsing and formatting run per flow for text inputs, so they walk char codes and allocate only
 * the result: no regexes, no split().
 */

const DOT = 0x2e;
const COLON = 0x3a;
const ZERO = 0x30;
const NINE = 0x39;

/** Decimal text of every octet value, so formatting an IPv4 address is four lookups. */
const DECIMAL: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
const HEX_DIGITS = '0123456789abcdef';

/** Value of a hex digit char code, or -1. */
function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const lower = c | 0x20; // folds A-F onto a-f; other chars stay out of range
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Parses dotted-quad text in `text[start, end)` into `out[at, at + 4)`. Go rejects leading zeros
 * ("010") because other parsers read them as octal; so do we.
 */
function parseIPv4Into(text: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let field = 0;
  let digits = 0;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= ZERO && c <= NINE) {
      if (digits === 1 && value === 0) return false;
      value = value * 10 + (c - ZERO);
      if (value > 255) return false;
      digits++;
    } else if (c === DOT) {
      if (digits === 0 || field === 3) return false;
      out[at + field] = value;
      field++;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (field !== 3 || digits === 0) return false;
  out[at + 3] = value;
  return true;
}

function parseIPv6(text: string): Uint8Array | undefined {
  const end = text.length;
  const ip = new Uint8Array(16);
  let p = 0;
  // Byte index in `ip` where the `::` stands, or -1.
  let ellipsis = -1;
  if (end >= 2 && text.charCodeAt(0) === COLON && text.charCodeAt(1) === COLON) {
    ellipsis = 0;
    p = 2;
    if (p === end) return ip;
  }
  let i = 0;
  while (i < 16) {
    const groupStart = p;
    let digits = 0;
    let acc = 0;
    for (; p < end; p++) {
      const h = hexValue(text.charCodeAt(p));
      if (h < 0) break;
      if (++digits > 4) return undefined;
      acc = (acc << 4) | h;
    }
    if (digits === 0) return undefined;
    if (p < end && text.charCodeAt(p) === DOT) {
      // A trailing IPv4 part fills the last 4 bytes, either exactly at byte 12 or before a gap
      // that `::` will widen; the group just read is re-read as its first decimal octet.
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16) return undefined;
      if (!parseIPv4Into(text, groupStart, end, ip, i)) return undefined;
      i += 4;
      p = end;
      break;
    }
    ip[i] = acc >> 8;
    ip[i + 1] = acc & 0xff;
    i += 2;
    if (p === end) break;
    if (text.charCodeAt(p) !== COLON) return undefined;
    p++;
    if (p === end) return undefined; // a single trailing colon
    if (text.charCodeAt(p) === COLON) {
      if (ellipsis >= 0) return undefined;
      ellipsis = i;
      p++;
      if (p === end) break;
    }
  }
  if (p !== end) return undefined;
  if (i < 16) {
    if (ellipsis < 0) return undefined;
    const gap = 16 - i;
    ip.copyWithin(ellipsis + gap, ellipsis, i);
    ip.fill(0, ellipsis, ellipsis + gap);
  } else if (ellipsis >= 0) {
    return undefined; // `::` must stand for at least one zero group
  }
  return ip;
}

/**
 * Parses an IP address: dotted IPv4 text gives 4 bytes, any IPv6 text (IPv4-mapped included)
 * gives 16 bytes; use {@link toIPv4} or {@link ipv4Offset} to treat a mapped address as IPv4.
 * Returns `undefined` for anything Go's `net.ParseIP` rejects, zones (`%eth0`) included.
 */
export function parseIp(text: string): Uint8Array | undefined {
  // The first separator decides the family, as in Go: "1.2.3.4" is IPv4, "::ffff:1.2.3.4" IPv6.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      const out = new Uint8Array(4);
      return parseIPv4Into(text, 0, text.length, out, 0) ? out : undefined;
    }
    if (c === COLON) return parseIPv6(text);
  }
  return undefined;
}

/** Whether `ip[offset, offset + 16)` is an IPv4-mapped IPv6 address (`::ffff:0:0/96`). */
function isMappedAt(ip: Uint8Array, offset: number): boolean {
  for (let i = offset; i < offset + 10; i++) if (ip[i] !== 0) return false;
  return ip[offset + 10] === 0xff && ip[offset + 11] === 0xff;
}

/** Whether `ip` is a 16-byte IPv4-mapped IPv6 address. */
export function isIPv4Mapped(ip: Uint8Array): boolean {
  return ip.length === 16 && isMappedAt(ip, 0);
}

/**
 * Where the IPv4 address starts in `ip`: 0 for a 4-byte address, 12 for an IPv4-mapped one, -1
 * otherwise. Lets hot paths read the IPv4 form without making a subarray.
 */
export function ipv4Offset(ip: Uint8Array): number {
  if (ip.length === 4) return 0;
  if (ip.length === 16 && isMappedAt(ip, 0)) return 12;
  return -1;
}

/**
 * The 4-byte form of an IPv4 or IPv4-mapped address (Go's `To4`), or `undefined`. Returns `ip`
 * itself for 4 bytes and a view (no copy) for a mapped address.
 */
export function toIPv4(ip: Uint8Array): Uint8Array | undefined {
  const offset = ipv4Offset(ip);
  if (offset < 0) return undefined;
  return offset === 0 ? ip : ip.subarray(12, 16);
}

/** Dotted text of the 4 bytes at `ip[offset]`. */
export function formatIPv4(ip: Uint8Array, offset = 0): string {
  return formatIPv4At(ip, offset);
}

/**
 * Text of the 16 bytes at `ip[offset]` as Filebeat ships an `ipv6Address` IE: RFC 5952, or dotted
 * when IPv4-mapped. Reads straight out of a datagram, no subarray needed.
 */
export function formatIPv6(ip: Uint8Array, offset = 0): string {
  return isMappedAt(ip, offset) ? formatIPv4At(ip, offset + 12) : formatIPv6At(ip, offset);
}

function formatIPv4At(ip: Uint8Array, o: number): string {
  return `${DECIMAL[ip[o]]}.${DECIMAL[ip[o + 1]]}.${DECIMAL[ip[o + 2]]}.${DECIMAL[ip[o + 3]]}`;
}

/** RFC 5952 section 4: lower case, no leading zeros, the longest run of 2+ zero groups as `::`. */
function formatIPv6At(ip: Uint8Array, o: number): string {
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed (4.2.2)
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    if (ip[o + 2 * g] === 0 && ip[o + 2 * g + 1] === 0) {
      if (runStart < 0) runStart = g;
      // Strictly longer only, so the first of equally long runs wins (4.2.3).
      if (g - runStart + 1 > bestLength) {
        bestStart = runStart;
        bestLength = g - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  let text = '';
  let needColon = false;
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      text += '::';
      needColon = false;
      g += bestLength - 1;
      continue;
    }
    if (needColon) text += ':';
    text += ((ip[o + 2 * g] << 8) | ip[o + 2 * g + 1]).toString(16);
    needColon = true;
  }
  return text;
}

/**
 * Formats `ip[offset, offset + length)` (default: all of `ip`) like Go's `net.IP.String()`:
 * dotted IPv4, dotted for IPv4-mapped IPv6, RFC 5952 for other IPv6, and `?` plus hex for other
 * lengths. Offset and length let a decoder format straight out of a datagram.
 */
export function formatIp(ip: Uint8Array, offset = 0, length = ip.length - offset): string {
  if (length === 4) return formatIPv4At(ip, offset);
  if (length === 16) {
    return isMappedAt(ip, offset) ? formatIPv4At(ip, offset + 12) : formatIPv6At(ip, offset);
  }
  let hex = '?';
  for (let i = offset; i < offset + length; i++) hex += HEX_DIGITS[ip[i] >> 4] + HEX_DIGITS[ip[i] & 0xf];
  return hex;
}

/**
 * Byte-wise comparison of the raw forms (Go's `bytes.Compare`): negative, 0 or positive. A 4-byte
 * address sorts by its bytes against the first 4 bytes of a 16-byte one, and a shorter equal
 * prefix sorts first. This is the order of `related.ip` and of the Community ID endpoints.
 */
export function compareIp(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Go's `net.IP.Equal`: same bytes, or an IPv4 address and its IPv4-mapped form. */
export function ipEqual(a: Uint8Array, b: Uint8Array): boolean {
  const oa = a.length === b.length ? 0 : ipv4Offset(a);
  const ob = a.length === b.length ? 0 : ipv4Offset(b);
  if (oa < 0 || ob < 0) return false;
  const n = a.length === b.length ? a.length : 4;
  for (let i = 0; i < n; i++) if (a[oa + i] !== b[ob + i]) return false;
  return true;
}

/**
 * Turns a sender address as Node reports it into the text Filebeat shows: a dual-stack socket
 * reports IPv4 exporters as `::ffff:1.2.3.4`, Go prints them as `1.2.3.4`. Other text is returned
 * unchanged (Node already prints IPv6 per RFC 5952; zones such as `%eth0` are kept).
 */
export function normalizeRemoteAddress(addr: string): string {
  // Only text with both separators can be IPv4-mapped in Node's rendering ("::ffff:1.2.3.4", or
  // libuv's "::1.2.3.4" for IPv4-compatible, which Go prints in hex: "::102:304").
  if (addr.indexOf(':') < 0 || addr.indexOf('.') < 0) return addr;
  const ip = parseIp(addr);
  return ip === undefined ? addr : formatIp(ip);
}

/** `1.2.3.4:2055` or `[2001:db8::1]:2055`, like Go's `net.JoinHostPort`, after normalising `ip`. */
export function formatExporterAddress(ip: string, port: number): string {
  const host = normalizeRemoteAddress(ip);
  return host.indexOf(':') < 0 ? `${host}:${port}` : `[${host}]:${port}`;
}

/**
 * Elasticsearch's `InetAddresses.isInetAddress` (Guava's rules, as `parseIp`): IPv6 may carry a
 * `%zone`, ignored, but not when it ends in a dotted quad; IPv4 may not.
 */
export function isInetAddress(text: string): boolean {
  const percent = text.indexOf('%');
  const address = percent >= 0 ? text.slice(0, percent) : text;
  if (!address.includes(':')) {
    // IPv4, parsed into scratch space: this runs for every GoFlow2 address
    return percent < 0 && address.includes('.') && parseIPv4Into(address, 0, address.length, IPV4_SCRATCH, 0);
  }
  if (parseIp(address) === undefined) return false;
  return percent < 0 || !address.includes('.');
}

const IPV4_SCRATCH = new Uint8Array(4);
