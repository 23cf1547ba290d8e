/**
 * `event.start`, `event.end` and `event.duration` of a flow record: what Filebeat derives from
 * sysUpTime (NETFLOW.md 4.1 "Times"), then, with `compatibility: extended` and
 * `enrich.absolute_times`, the absolute-time elements Filebeat ignores (NETFLOW.md 6, R2).
 *
 * Instants are carried in microseconds since the Unix epoch (exact in a double until year 2255),
 * so an export time minus `flowStartDeltaMicroseconds` keeps its microseconds in the duration.
 * Documents show dates with three fraction digits, truncated (NETFLOW.md 3.4); the integration
 * maps `event.start/end` as `date`, which Elasticsearch stores in milliseconds anyway.
 */
import type { FieldValue, FlowRecord } from '../inputs/netflow/decoder/types.ts';
import { parseIsoMillis } from '../util/iso-time.ts';

/** The times of one flow; any of them may be unknown. */
export interface FlowTimes {
  /** Microseconds since the Unix epoch. */
  start?: number;
  /** Microseconds since the Unix epoch. */
  end?: number;
  /** Nanoseconds, as ECS `event.duration`. */
  duration?: number;
}

/** Counters the time logic updates (a subset of the normalizer's stats). */
export interface TimeStats {
  /** Absolute times refused by the plausibility guard (R2); see {@link absoluteTimes}. */
  timeRejected: number;
}

/**
 * The session's `systemInitTimeMilliseconds` (IE 160), in ms since the Unix epoch, learned from
 * options data (R6): the decoder's options state (`ExporterMeta.sessionOptions`) is one. R2 uses
 * it for `flowStart/EndSysUpTime` (IEs 22/21); IE 160 in the flow record itself wins over it.
 */
export interface SessionClock {
  readonly systemInitTimeMs?: number | undefined;
}

/** Earliest plausible flow time: 1995-01-01T00:00:00Z. */
export const MIN_FLOW_TIME_MS = Date.UTC(1995, 0, 1);
/** Latest plausible flow time, after the export time (exporter clocks run ahead). */
export const MAX_AHEAD_OF_EXPORT_MS = 10 * 60 * 1000;

function uint(value: FieldValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** A decoded date (its ISO text) in microseconds since the Unix epoch. */
function dateUs(value: FieldValue | undefined): number | undefined {
  const ms = typeof value === 'string' ? parseIsoMillis(value) : undefined;
  return ms === undefined ? undefined : ms * 1000;
}

/**
 * NETFLOW.md 4.1, exactly as Filebeat: `U` = the header uptime, or (never in practice, it decodes
 * as a date) an integer `systemInitTimeMilliseconds`; an edge = export time - (U - sysUpTime) when
 * sysUpTime <= U; duration from both edges, else from `flowDurationMilliseconds`, which then also
 * gives the missing edge.
 */
export function filebeatTimes(record: FlowRecord): FlowTimes {
  const f = record.fields;
  const ts = record.exporter.timestamp.getTime();
  let uptime: number | undefined = record.exporter.uptimeMillis;
  // the fallback never fires in practice: systemInitTimeMilliseconds decodes as a date
  if (uptime === 0) uptime = uint(f.system_init_time_milliseconds);
  let start: number | undefined;
  let end: number | undefined;
  let duration: number | undefined;
  if (uptime !== undefined) {
    const first = uint(f.flow_start_sys_up_time);
    const last = uint(f.flow_end_sys_up_time);
    // uptimes beyond the exporter's own would put the flow in the future
    if (first !== undefined && first <= uptime) start = ts - (uptime - first);
    if (last !== undefined && last <= uptime) end = ts - (uptime - last);
    if (start !== undefined && end !== undefined) duration = (end - start) * 1e6;
  }
  if (duration === undefined) {
    const ms = uint(f.flow_duration_milliseconds);
    if (ms !== undefined) {
      duration = ms * 1e6;
      if (start !== undefined) end = start + ms;
      else if (end !== undefined) start = end - ms;
    }
  }
  const times: FlowTimes = {};
  if (start !== undefined) times.start = start * 1000;
  if (end !== undefined) times.end = end * 1000;
  if (duration !== undefined) times.duration = duration;
  return times;
}

/** `netflow.*` keys of one edge's sources, in precedence order (see {@link absoluteTimes}). */
interface EdgeKeys {
  /** dateTime{Nano,Micro,Milli}seconds and dateTimeSeconds elements, finest first. */
  readonly dates: readonly string[];
  readonly deltaMicroseconds: string;
  readonly sysUpTime: string;
}

const START: EdgeKeys = {
  // 156, 154, 152, 150
  dates: [
    'flow_start_nanoseconds',
    'flow_start_microseconds',
    'flow_start_milliseconds',
    'flow_start_seconds',
  ],
  deltaMicroseconds: 'flow_start_delta_microseconds', // 158
  sysUpTime: 'flow_start_sys_up_time', // 22
};

const END: EdgeKeys = {
  // 157, 155, 153, 151
  dates: ['flow_end_nanoseconds', 'flow_end_microseconds', 'flow_end_milliseconds', 'flow_end_seconds'],
  deltaMicroseconds: 'flow_end_delta_microseconds', // 159
  sysUpTime: 'flow_end_sys_up_time', // 21
};

/** Plausibility bounds of one record's absolute times, in microseconds. */
interface Guard {
  readonly min: number;
  readonly max: number;
  readonly stats: TimeStats;
}

/** Whether `us` is a plausible flow time; counts it when it is not. */
function plausible(us: number, guard: Guard): boolean {
  if (us >= guard.min && us <= guard.max) return true;
  guard.stats.timeRejected++;
  return false;
}

/**
 * The first plausible source of one edge. Sources that are absent or of an unexpected type (a
 * custom definition can retype an element) are passed over silently; implausible ones are counted
 * and passed over, so a later source can still give the edge.
 */
function edge(
  record: FlowRecord,
  keys: EdgeKeys,
  exportUs: number,
  initUs: number | undefined,
  guard: Guard,
): number | undefined {
  const f = record.fields;
  for (const key of keys.dates) {
    const us = dateUs(f[key]);
    if (us !== undefined && plausible(us, guard)) return us;
  }
  const delta = uint(f[keys.deltaMicroseconds]);
  if (delta !== undefined && plausible(exportUs - delta, guard)) return exportUs - delta;
  const upTime = uint(f[keys.sysUpTime]);
  if (upTime !== undefined && initUs !== undefined && plausible(initUs + upTime * 1000, guard)) {
    return initUs + upTime * 1000;
  }
  return undefined;
}

/**
 * R2 (NETFLOW.md 6), on top of the Filebeat times `fb`, whose edges it never changes:
 *
 *   edge     sources, first plausible wins                               IE
 *   -------  ----------------------------------------------------------  -------------------
 *   start    flowStartNanoseconds, ...Microseconds, ...Milliseconds,      156, 154, 152, 150
 *            ...Seconds (dates as decoded)
 *            export time - flowStartDeltaMicroseconds                     158
 *            systemInitTimeMilliseconds + flowStartSysUpTime              160 + 22
 *   end      the same with 157, 155, 153, 151, 159, 160 + 21
 *
 * `systemInitTimeMilliseconds` is the record's IE 160, else the session's (`session`, when the
 * options enrichment is on: {@link SessionClock}).
 * Plausible = from 1995-01-01 to export time + 10 min, inclusive; each refused value counts one
 * `timeRejected`. Then the duration, as 4.1 does it: end - start when both are known and one came
 * from here (replacing a duration 4.1 took from `flowDurationMilliseconds` (161); a negative span,
 * e.g. from mixed precisions, gives none); else, when there is still none,
 * `flowDurationMicroseconds` (162). So 161 wins over 162: 4.1 takes it first, in both modes. A
 * duration with one known edge gives the other (4.1 does the same with 161), guarded alike.
 */
export function absoluteTimes(
  record: FlowRecord,
  fb: FlowTimes,
  stats: TimeStats,
  session?: SessionClock,
): FlowTimes {
  const f = record.fields;
  const exportUs = record.exporter.timestamp.getTime() * 1000;
  const guard: Guard = { min: MIN_FLOW_TIME_MS * 1000, max: exportUs + MAX_AHEAD_OF_EXPORT_MS * 1000, stats };
  const initUs = dateUs(f.system_init_time_milliseconds) ?? sessionInitUs(session);

  let { start, end, duration } = fb;
  let filled = false;
  if (start === undefined) {
    start = edge(record, START, exportUs, initUs, guard);
    filled ||= start !== undefined;
  }
  if (end === undefined) {
    end = edge(record, END, exportUs, initUs, guard);
    filled ||= end !== undefined;
  }

  if (filled && start !== undefined && end !== undefined && end >= start) duration = (end - start) * 1000;
  // 4.1 has already taken flowDurationMilliseconds (161) when it found no duration
  if (duration === undefined) {
    const us = uint(f.flow_duration_microseconds);
    if (us !== undefined) duration = us * 1000;
  }
  if (duration !== undefined) {
    const spanUs = duration / 1000;
    if (start !== undefined && end === undefined) {
      if (plausible(start + spanUs, guard)) end = start + spanUs;
    } else if (end !== undefined && start === undefined) {
      if (plausible(end - spanUs, guard)) start = end - spanUs;
    }
  }

  const times: FlowTimes = {};
  if (start !== undefined) times.start = start;
  if (end !== undefined) times.end = end;
  if (duration !== undefined) times.duration = duration;
  return times;
}

function sessionInitUs(session: SessionClock | undefined): number | undefined {
  const ms = session?.systemInitTimeMs;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms * 1000 : undefined;
}
