/**
 * A small metrics registry: counters, gauges (set directly or read from a callback) and
 * histograms, with labels. Read out as a JSON snapshot (`GET /stats`) or in the Prometheus text
 * exposition format 0.0.4 (`GET /metrics`).
 *
 * Label sets are bounded per metric (`maxLabelSets`, default 100): once a metric has that many,
 * any new combination is recorded under the label set whose every value is `other`, and the
 * lookup is counted in `flowship_metrics_label_overflow_total{metric="..."}`. An exporter
 * address or a file path used as a label can therefore never grow memory without bound.
 *
 * Hot paths should resolve a labelled child once (`const c = m.labels({...})`) and keep it.
 */

/** Label values by label name. */
export type Labels = Readonly<Record<string, string>>;

/** One value of a callback metric. */
export interface Sample {
  labels: Labels;
  value: number;
}

export interface MetricOptions {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters by convention end in `_total`. */
  name: string;
  /** One line saying what is measured and in which unit. */
  help: string;
  /** Names of the labels this metric takes (`[a-zA-Z_][a-zA-Z0-9_]*`, not `__`-prefixed). */
  labelNames?: readonly string[];
  /**
   * Label sets kept before new ones fall into `other`, instead of the registry's: for a callback
   * metric whose source bounds its own series (an input's per-exporter table).
   */
  maxLabelSets?: number;
}

export interface CallbackMetricOptions extends MetricOptions {
  /**
   * Reads the value(s) at collection time instead of keeping them (for example a queue's
   * length). A number for an unlabelled metric, samples for a labelled one. A callback that
   * throws makes the metric report nothing for that collection.
   */
  collect?: () => number | readonly Sample[];
}

export interface HistogramOptions extends MetricOptions {
  /** Upper bounds of the buckets, increasing; `+Inf` is implicit. Default: Prometheus' defaults (seconds). */
  buckets?: readonly number[];
  /**
   * Reads the series at collection time instead of keeping them (observations made elsewhere, on
   * a worker thread for example): per label set, non-cumulative counts for each bucket then
   * `+Inf`, with the sum and count. Registering the name again with another `collect` adds a source.
   */
  collect?: () => readonly HistogramSample[];
}

/** One series of a callback histogram. */
export interface HistogramSample {
  labels: Labels;
  /** Non-cumulative: one per bucket, then `+Inf`. */
  counts: readonly number[];
  sum: number;
  count: number;
}

export interface MetricsRegistryOptions {
  /** Distinct label sets kept per metric before new ones fall into `other`; default 100. */
  maxLabelSets?: number;
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A counter or gauge value in a snapshot. */
export interface ValueSnapshot {
  labels: Labels;
  value: number;
}

/** A histogram series in a snapshot; `buckets` are cumulative, by increasing upper bound, `+Inf` last. */
export interface HistogramSnapshot {
  labels: Labels;
  count: number;
  sum: number;
  buckets: Array<{ le: string; count: number }>;
}

export interface MetricSnapshot {
  type: MetricType;
  help: string;
  values: Array<ValueSnapshot | HistogramSnapshot>;
}

/** The JSON served by `/stats`: every metric by name. */
export type MetricsSnapshot = Record<string, MetricSnapshot>;

export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const OVERFLOW_LABEL_VALUE = 'other';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Overflow = (metric: string) => void;

/** What the counter, gauge and histogram classes share: named, labelled, bounded series. */
abstract class Metric<S> {
  abstract readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly series = new Map<string, { labels: Labels; state: S }>();
  readonly #maxLabelSets: number;
  readonly #onOverflow: Overflow | undefined;

  constructor(options: MetricOptions, maxLabelSets: number, onOverflow: Overflow | undefined) {
    const { name, help, labelNames = [] } = options;
    if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name '${name}'`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__'))
        throw new TypeError(`invalid label name '${l}' on ${name}`);
    }
    if (new Set(labelNames).size !== labelNames.length)
      throw new TypeError(`duplicate label name on ${name}`);
    this.name = name;
    this.help = help;
    this.labelNames = [...labelNames];
    this.#maxLabelSets = options.maxLabelSets ?? maxLabelSets;
    this.#onOverflow = onOverflow;
  }

  protected abstract initial(): S;

  /** The state of the series for `labels`, created on first use, `other` past the cap. */
  protected resolve(labels: Labels | undefined): S {
    const values = this.labelNames.map((n) => labels?.[n] ?? '');
    if (labels !== undefined) {
      for (const k of Object.keys(labels)) {
        if (!this.labelNames.includes(k)) throw new TypeError(`metric ${this.name} has no label '${k}'`);
      }
    }
    let key = values.join('\u0000');
    let entry = this.series.get(key);
    if (entry !== undefined) return entry.state;
    if (
      this.labelNames.length > 0 &&
      this.series.size >= this.#maxLabelSets &&
      this.#onOverflow !== undefined
    ) {
      this.#onOverflow(this.name);
      values.fill(OVERFLOW_LABEL_VALUE);
      key = values.join('\u0000');
      entry = this.series.get(key);
      if (entry !== undefined) return entry.state;
    }
    const resolved: Record<string, string> = {};
    this.labelNames.forEach((n, i) => {
      resolved[n] = values[i];
    });
    entry = { labels: resolved, state: this.initial() };
    this.series.set(key, entry);
    return entry.state;
  }

  /** Number of label sets held (the `other` set included). */
  get labelSets(): number {
    return this.series.size;
  }
}

interface Cell {
  value: number;
}

/** Adds a value to a counter or gauge; a child bound to one label set. */
export interface CounterChild {
  inc(value?: number): void;
}

export interface GaugeChild {
  set(value: number): void;
  inc(value?: number): void;
  dec(value?: number): void;
}

export interface HistogramChild {
  observe(value: number): void;
}

abstract class ValueMetric extends Metric<Cell> {
  // several sources (one per input) may feed one callback metric, each with its own labels
  readonly #collectors: Array<() => number | readonly Sample[]> = [];

  constructor(options: CallbackMetricOptions, maxLabelSets: number, onOverflow: Overflow | undefined) {
    super(options, maxLabelSets, onOverflow);
    if (options.collect !== undefined) this.#collectors.push(options.collect);
    if (this.labelNames.length === 0 && options.collect === undefined) this.resolve(undefined);
  }

  hasCollector(collect: () => number | readonly Sample[]): boolean {
    return this.#collectors.includes(collect);
  }

  /** Adds a source to a callback metric (registering its name again with another `collect`). */
  addCollector(collect: () => number | readonly Sample[]): void {
    if (this.#collectors.length === 0) {
      throw new TypeError(`metric ${this.name} keeps its own values; it cannot take a collect callback`);
    }
    this.#collectors.push(collect);
  }

  protected initial(): Cell {
    return { value: 0 };
  }

  /** The current value for `labels` (0 if never set). */
  get(labels?: Labels): number {
    return this.samples().find((s) => sameLabels(s.labels, labels ?? {}, this.labelNames))?.value ?? 0;
  }

  /** Current values; callback metrics are read now (and capped like the others). */
  samples(): ValueSnapshot[] {
    if (this.#collectors.length === 0) {
      return [...this.series.values()].map((e) => ({ labels: e.labels, value: e.state.value }));
    }
    this.series.clear();
    for (const collect of this.#collectors) {
      let got: number | readonly Sample[];
      try {
        got = collect();
      } catch {
        continue; // a failing source reports nothing for this collection
      }
      if (typeof got === 'number') this.resolve(undefined).value += got;
      else for (const s of got) this.resolve(s.labels).value += s.value;
    }
    return [...this.series.values()].map((e) => ({ labels: e.labels, value: e.state.value }));
  }
}

export class Counter extends ValueMetric {
  readonly type = 'counter';

  /** Adds `value` (default 1, must be >= 0) to the unlabelled counter. */
  inc(value = 1): void {
    this.labels(undefined).inc(value);
  }

  /** The counter for one label set. */
  labels(labels: Labels | undefined): CounterChild {
    const cell = this.resolve(labels);
    return {
      inc(value = 1) {
        if (value >= 0) cell.value += value;
      },
    };
  }
}

export class Gauge extends ValueMetric {
  readonly type = 'gauge';

  set(value: number): void {
    this.labels(undefined).set(value);
  }

  inc(value = 1): void {
    this.labels(undefined).inc(value);
  }

  dec(value = 1): void {
    this.labels(undefined).dec(value);
  }

  /** The gauge for one label set. */
  labels(labels: Labels | undefined): GaugeChild {
    const cell = this.resolve(labels);
    return {
      set(value) {
        cell.value = value;
      },
      inc(value = 1) {
        cell.value += value;
      },
      dec(value = 1) {
        cell.value -= value;
      },
    };
  }
}

interface HistogramState {
  /** Non-cumulative counts per bucket; the last one is `+Inf`. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramState> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  readonly #collectors: Array<() => readonly HistogramSample[]> = [];

  constructor(options: HistogramOptions, maxLabelSets: number, onOverflow: Overflow | undefined) {
    super(options, maxLabelSets, onOverflow);
    if (this.labelNames.includes('le'))
      throw new TypeError(`histogram ${this.name} cannot use the label 'le'`);
    const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)].filter((b) => b !== Number.POSITIVE_INFINITY);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1]))
        throw new TypeError(`histogram ${this.name}: buckets must increase`);
    }
    this.buckets = buckets;
    if (options.collect !== undefined) this.#collectors.push(options.collect);
    else if (this.labelNames.length === 0) this.resolve(undefined);
  }

  /** Adds a source to a callback histogram (see {@link HistogramOptions.collect}). */
  addCollector(collect: () => readonly HistogramSample[]): void {
    if (this.#collectors.length === 0) {
      throw new TypeError(`histogram ${this.name} keeps its own values; it cannot take a collect callback`);
    }
    if (!this.#collectors.includes(collect)) this.#collectors.push(collect);
  }

  protected initial(): HistogramState {
    return { counts: new Array(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  observe(value: number): void {
    this.labels(undefined).observe(value);
  }

  labels(labels: Labels | undefined): HistogramChild {
    const state = this.resolve(labels);
    const buckets = this.buckets;
    return {
      observe(value) {
        if (Number.isNaN(value)) return;
        let i = 0;
        while (i < buckets.length && value > buckets[i]) i++;
        state.counts[i]++;
        state.sum += value;
        state.count++;
      },
    };
  }

  samples(): HistogramSnapshot[] {
    if (this.#collectors.length > 0) {
      this.series.clear();
      for (const collect of this.#collectors) {
        let got: readonly HistogramSample[];
        try {
          got = collect();
        } catch {
          continue; // a failing source reports nothing for this collection
        }
        for (const sample of got) {
          const state = this.resolve(sample.labels);
          for (let i = 0; i < state.counts.length; i++) state.counts[i] += sample.counts[i] ?? 0;
          state.sum += sample.sum;
          state.count += sample.count;
        }
      }
    }
    return [...this.series.values()].map(({ labels, state }) => {
      const buckets: Array<{ le: string; count: number }> = [];
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += state.counts[i];
        buckets.push({ le: formatNumber(b), count: cumulative });
      });
      buckets.push({ le: '+Inf', count: state.count });
      return { labels, count: state.count, sum: state.sum, buckets };
    });
  }
}

type AnyMetric = Counter | Gauge | Histogram;

export class MetricsRegistry {
  readonly #metrics = new Map<string, AnyMetric>();
  readonly #maxLabelSets: number;
  readonly #overflow: Counter;

  constructor(options: MetricsRegistryOptions = {}) {
    const { maxLabelSets = 100 } = options;
    if (!Number.isInteger(maxLabelSets) || maxLabelSets < 1) {
      throw new RangeError(`maxLabelSets must be an integer >= 1, got ${maxLabelSets}`);
    }
    this.#maxLabelSets = maxLabelSets;
    // Exempt from the cap itself (no overflow callback): its label is the name of a registered metric.
    this.#overflow = new Counter(
      {
        name: 'flowship_metrics_label_overflow_total',
        help: 'Label lookups recorded under the "other" label set because the metric had too many label sets.',
        labelNames: ['metric'],
      },
      Number.MAX_SAFE_INTEGER,
      undefined,
    );
    this.#metrics.set(this.#overflow.name, this.#overflow);
  }

  /**
   * A counter; registering the same name and type again returns the existing one, and a `collect`
   * given again adds a source (each input registers its own, with its own labels).
   */
  counter(options: CallbackMetricOptions): Counter {
    return this.#withCollector(
      options,
      this.#register(options.name, Counter, () => new Counter(options, this.#maxLabelSets, this.#onOverflow)),
    );
  }

  /** A gauge, set directly or read from `collect` at each collection (several sources add up). */
  gauge(options: CallbackMetricOptions): Gauge {
    return this.#withCollector(
      options,
      this.#register(options.name, Gauge, () => new Gauge(options, this.#maxLabelSets, this.#onOverflow)),
    );
  }

  #withCollector<T extends Counter | Gauge>(options: CallbackMetricOptions, metric: T): T {
    // a metric just made already holds this collect; one found existing takes it as another source
    if (options.collect !== undefined && !metric.hasCollector(options.collect))
      metric.addCollector(options.collect);
    return metric;
  }

  /** A histogram with fixed buckets, observed directly or read from `collect` (several sources add up). */
  histogram(options: HistogramOptions): Histogram {
    const metric = this.#register(
      options.name,
      Histogram,
      () => new Histogram(options, this.#maxLabelSets, this.#onOverflow),
    );
    if (options.collect !== undefined) metric.addCollector(options.collect);
    return metric;
  }

  /** The metric registered under `name`, if any. */
  get(name: string): AnyMetric | undefined {
    return this.#metrics.get(name);
  }

  readonly #onOverflow: Overflow = (metric) => {
    this.#overflow.labels({ metric }).inc();
  };

  #register<T extends AnyMetric>(name: string, kind: abstract new (...args: never[]) => T, make: () => T): T {
    const existing = this.#metrics.get(name);
    if (existing !== undefined) {
      if (existing instanceof kind) return existing;
      throw new TypeError(`metric ${name} is already registered as a ${existing.type}`);
    }
    const metric = make();
    this.#metrics.set(name, metric);
    return metric;
  }

  /** Every metric with its current values, for `/stats`. */
  snapshot(): MetricsSnapshot {
    const out: MetricsSnapshot = {};
    for (const m of this.#metrics.values()) {
      out[m.name] = { type: m.type, help: m.help, values: m.samples() };
    }
    return out;
  }

  /** Prometheus text exposition format 0.0.4, for `/metrics`. */
  prometheus(): string {
    const lines: string[] = [];
    for (const m of this.#metrics.values()) {
      lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`);
      if (m instanceof Histogram) {
        for (const s of m.samples()) {
          for (const b of s.buckets) {
            lines.push(`${m.name}_bucket${formatLabels(s.labels, ['le', b.le])} ${formatNumber(b.count)}`);
          }
          lines.push(`${m.name}_sum${formatLabels(s.labels)} ${formatNumber(s.sum)}`);
          lines.push(`${m.name}_count${formatLabels(s.labels)} ${formatNumber(s.count)}`);
        }
      } else {
        for (const s of m.samples())
          lines.push(`${m.name}${formatLabels(s.labels)} ${formatNumber(s.value)}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}

/** The content type of `MetricsRegistry.prometheus()`. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** HELP text escaping (0.0.4): backslash and line feed. */
export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label value escaping (0.0.4): backslash, double quote and line feed. */
export function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus writes it: `NaN`, `+Inf`, `-Inf` or a Go-parsable float. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

function formatLabels(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  if (extra !== undefined) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function sameLabels(a: Labels, b: Labels, names: readonly string[]): boolean {
  return names.every((n) => (a[n] ?? '') === (b[n] ?? ''));
}
