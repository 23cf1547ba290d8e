/**
 * Durations and byte sizes as Filebeat writes them.
 *
 * Durations use Go's `time.ParseDuration` syntax: a sequence of decimal numbers, each with a unit
 * (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), as in `500ms`, `1.5s`, `1h30m`; a bare `0` is allowed.
 * Sizes follow go-humanize's `ParseBytes` (what Filebeat's `cfgtype.ByteSize` uses): a number and
 * an optional, case-insensitive unit, decimal (`KB`, `MB`, ...: powers of 1000) or binary (`KiB`,
 * `MiB`, ...: powers of 1024); no unit means bytes.
 */

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 MICRO SIGN
  μs: 1e-3, // U+03BC GREEK SMALL LETTER MU
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/**
 * Parses a Go duration (`1h30m`, `500ms`, `0`) into milliseconds (possibly fractional, possibly
 * negative). Returns undefined when the text is not a Go duration.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^[-+]?0$/.test(s)) return 0;
  if (!DURATION.test(s)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of s.matchAll(DURATION_PART)) ms += Number(amount) * DURATION_UNIT_MS[unit];
  return s.startsWith('-') ? -ms : ms;
}

const SIZE_UNIT_BYTES: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  ki: 2 ** 10,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mi: 2 ** 20,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gi: 2 ** 30,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

const SIZE = /^(\d+\.?\d*|\.\d+)\s*([a-z]*)$/i;

/**
 * Parses a byte size (`10KiB`, `16MiB`, `1.5 MB`, `4096`) into a whole number of bytes (truncated,
 * as go-humanize does). Returns undefined when the text is not a size.
 */
export function parseSize(text: string): number | undefined {
  const match = SIZE.exec(text.trim());
  if (match === null) return undefined;
  const unit = match[2].toLowerCase();
  if (!Object.hasOwn(SIZE_UNIT_BYTES, unit)) return undefined;
  const bytes = Math.floor(Number(match[1]) * SIZE_UNIT_BYTES[unit]);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
