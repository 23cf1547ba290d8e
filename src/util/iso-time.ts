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
  if (text.length !== 24) return undefined;
  const ms = Date.parse(text);
  return !Number.isNaN(ms) && isoMillis(ms) === text ? ms : undefined;
}
