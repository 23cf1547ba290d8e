/**
 * `flow.id` exactly as Filebeat's netflow input computes it (NETFLOW.md 4.1): xxHash64 (seed 0)
 * over the endpoint with the higher-or-equal port first, 8-byte big-endian digest, base64url
 * without padding (always 11 characters).
 *
 *   +----------+------------+----------+------------+-------+
 *   | A.ip     | A.port u16 | B.ip     | B.port u16 | proto |   A = source if src.port >= dst.port,
 *   | 4 or 16  | big-endian | 4 or 16  | big-endian | u8    |   else destination (so equal ports
 *   +----------+------------+----------+------------+-------+   are NOT symmetric)
 *
 * Addresses are hashed as the raw bytes the exporter sent: an IPv4-mapped address from an IPv6
 * field stays 16 bytes, as in Filebeat. This runs per flow, so the input is written into one
 * preallocated buffer and hashed through a preallocated view of the right length.
 */
import xxhash from 'xxhash-wasm';

// xxhash-wasm instantiates its WebAssembly module asynchronously; doing it once at load keeps
// flowId() synchronous.
const { h64Raw } = await xxhash();

const MAX_INPUT = 16 + 2 + 16 + 2 + 1;
const input = new Uint8Array(MAX_INPUT);
/** `views[n]` is `input[0, n)`; made once so hashing never allocates a view. */
const views: Uint8Array[] = Array.from({ length: MAX_INPUT + 1 }, (_, n) => input.subarray(0, n));
const digest = new DataView(new ArrayBuffer(8));
/** Missing IPs hash as 4-byte 0.0.0.0, as Filebeat substitutes `net.IPv4(0,0,0,0).To4()`. */
const UNSPECIFIED_V4 = new Uint8Array(4);

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64 = Uint8Array.from(BASE64URL, (c) => c.charCodeAt(0));

function writeEndpoint(buf: Uint8Array, at: number, ip: Uint8Array, port: number): number {
  buf.set(ip, at);
  at += ip.length;
  buf[at] = port >> 8;
  buf[at + 1] = port & 0xff;
  return at + 2;
}

/**
 * `flow.id` of a flow.
 *
 * @param srcIp source address, 4 or 16 raw bytes as decoded (not copied, not kept); `undefined`
 *   when the record has none (hashed as 0.0.0.0).
 * @param srcPort `sourceTransportPort`; `undefined` hashes as 0. Truncated to 16 bits like Go's
 *   `uint16()` conversion.
 * @param dstIp destination address, as `srcIp`.
 * @param dstPort `destinationTransportPort`, as `srcPort`.
 * @param proto `protocolIdentifier`; `undefined` hashes as 0. Truncated to 8 bits.
 * @returns 11 base64url characters, e.g. `dO-Anbp9xpw`.
 */
export function flowId(
  srcIp: Uint8Array | undefined,
  srcPort: number | undefined,
  dstIp: Uint8Array | undefined,
  dstPort: number | undefined,
  proto: number | undefined,
): string {
  const sIp = srcIp ?? UNSPECIFIED_V4;
  const dIp = dstIp ?? UNSPECIFIED_V4;
  const sPort = (srcPort ?? 0) & 0xffff;
  const dPort = (dstPort ?? 0) & 0xffff;
  const length = sIp.length + dIp.length + 5;
  // Only malformed (non 4/16-byte) addresses can overflow the scratch buffer; they get their own.
  const buf = length <= MAX_INPUT ? input : new Uint8Array(length);
  let at: number;
  if (sPort >= dPort) {
    at = writeEndpoint(buf, writeEndpoint(buf, 0, sIp, sPort), dIp, dPort);
  } else {
    at = writeEndpoint(buf, writeEndpoint(buf, 0, dIp, dPort), sIp, sPort);
  }
  buf[at] = (proto ?? 0) & 0xff;
  // xxhash-wasm returns the 64-bit digest as a BigInt; writing it big-endian into a DataView is
  // the one conversion that needs no further BigInt arithmetic.
  digest.setBigUint64(0, h64Raw(length <= MAX_INPUT ? views[length] : buf));
  return base64Url8(digest);
}

/** Base64url without padding of 8 bytes: 64 bits -> 10 full sextets + 4 bits = 11 characters. */
function base64Url8(d: DataView): string {
  const b0 = d.getUint8(0);
  const b1 = d.getUint8(1);
  const b2 = d.getUint8(2);
  const b3 = d.getUint8(3);
  const b4 = d.getUint8(4);
  const b5 = d.getUint8(5);
  const b6 = d.getUint8(6);
  const b7 = d.getUint8(7);
  return String.fromCharCode(
    B64[b0 >> 2],
    B64[((b0 & 0x03) << 4) | (b1 >> 4)],
    B64[((b1 & 0x0f) << 2) | (b2 >> 6)],
    B64[b2 & 0x3f],
    B64[b3 >> 2],
    B64[((b3 & 0x03) << 4) | (b4 >> 4)],
    B64[((b4 & 0x0f) << 2) | (b5 >> 6)],
    B64[b5 & 0x3f],
    B64[b6 >> 2],
    B64[((b6 & 0x03) << 4) | (b7 >> 4)],
    B64[(b7 & 0x0f) << 2],
  );
}
