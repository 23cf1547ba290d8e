/**
 * `Date#toISOString()` of a millisecond count, without a `Date`: documents carry their dates as
 * this text, because `JSON.stringify` takes a slow path for every object with a `toJSON` method
 * (a flow document with seven `Date`s serialised 2.6 times slower than the same document with
 * strings).
 */

const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the four-digit years. */
const MIN_MS = -62_167_219_200_000;
const MAX_MS = 253_402_300_799_999;

/** The text up to the second (`2017-10-09T20:22:35.`) of the two seconds formatted last. */
const recent: Array<{ second: number; text: string }> = [
  { second: Number.NaN, text: '' },
  { second: Number.NaN, text: '' },
];
let older = 0;

/**
 * `new Date(ms).toISOString()` for an integer `ms` (`YYYY-MM-DDTHH:mm:ss.sssZ`); other values
 * (fractions, years beyond four digits) take `Date`'s own formatting. A flow's times and its
 * packet's export time mostly fall in one or two seconds, whose text is kept.
 */
export function isoMillis(ms: number): string {
  if (!Number.isInteger(ms) || ms < MIN_MS || ms > MAX_MS) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  const millis = THREE_DIGITS[ms - second * 1000];
  if (recent[0].second === second) return `${recent[0].text}${millis}Z`;
  if (recent[1].second === second) return `${recent[1].text}${millis}Z`;
  const slot = recent[older];
  older = 1 - older;
  slot.second = second;
  slot.text = secondText(second);
  return `${slot.text}${millis}Z`;
}

/** `YYYY-MM-DDTHH:mm:ss.` of a second since the epoch (within four-digit years). */
function secondText(second: number): string {
  const days = Math.floor(second / 86_400);
  let rest = second - days * 86_400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  // civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted)
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${TWO_DIGITS[Math.floor(year / 100)]}${TWO_DIGITS[year % 100]}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.`;
}

/** Beyond this many ms from the epoch a `Date` is invalid (ECMA-262 TimeClip). */
const MAX_TIME = 8.64e15;

/**
 * What `JSON.stringify` writes for `new Date(ms)`: its ISO text in quotes, or `null` for an
 * invalid date (NaN, or beyond {@link MAX_TIME}).
 */
export function isoMillisJson(ms: number): string {
  return Number.isNaN(ms) || Math.abs(ms) > MAX_TIME ? 'null' : `"${isoMillis(ms)}"`;
}

/**
 * The millisecond count of text {@link isoMillis} writes for a four-digit year
 * (`2017-11-21T14:32:15.000Z`), else undefined: no other form, no impossible date (February 30).
 */
export function parseIsoMillis(text: string): number | undefined {
  // read by hand: Date.parse takes several times as long, and other forms too
  if (
    text.length !== 24 ||
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    text.charCodeAt(10) !== T ||
    text.charCodeAt(13) !== COLON ||
    text.charCodeAt(16) !== COLON ||
    text.charCodeAt(19) !== DOT ||
    text.charCodeAt(23) !== Z
  ) {
    return undefined;
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hours = digits(text, 11, 2);
  const minutes = digits(text, 14, 2);
  const seconds = digits(text, 17, 2);
  const millis = digits(text, 20, 3);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (year < 0 || hours < 0 || hours > 23 || minutes < 0 || minutes > 59 || seconds < 0 || seconds > 59) {
    return undefined;
  }
  if (millis < 0) return undefined;
  return (
    daysFromCivil(year, month, day) * 86_400_000 +
    hours * 3_600_000 +
    minutes * 60_000 +
    seconds * 1000 +
    millis
  );
}

// the separators of `YYYY-MM-DDTHH:mm:ss.sssZ`
const DASH = 0x2d;
const T = 0x54;
const COLON = 0x3a;
const DOT = 0x2e;
const Z = 0x5a;

/** The decimal number in `text[start, start + count)`, or -1 if a character is not a digit. */
function digits(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
