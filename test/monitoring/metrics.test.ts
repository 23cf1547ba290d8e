import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { escapeLabelValue, formatNumber, MetricsRegistry } from '../../src/monitoring/metrics.ts';

const OVERFLOW_HEADER = [
  '# HELP flowship_metrics_label_overflow_total Label lookups recorded under the "other" label set because the metric had too many label sets.',
  '# TYPE flowship_metrics_label_overflow_total counter',
];

describe('MetricsRegistry', () => {
  test('writes Prometheus text format 0.0.4: HELP/TYPE lines, escaping, histograms', () => {
    const r = new MetricsRegistry();
    const c = r.counter({
      name: 'flowship_lines_total',
      help: 'Lines read from C:\\logs\nper file.',
      labelNames: ['input', 'path'],
    });
    c.labels({ input: 'goflow2', path: 'C:\\logs\\"odd"\nname.log' }).inc(2);
    c.labels({ input: 'goflow2', path: '/var/log/a.log' }).inc();
    c.labels({ input: 'goflow2', path: '/var/log/a.log' }).inc(0.5);
    const g = r.gauge({ name: 'flowship_queue_events', help: 'Events queued.' });
    g.set(3);
    g.inc(2);
    g.dec();
    r.gauge({ name: 'flowship_uptime_seconds', help: 'Uptime.', collect: () => 12.25 });
    r.gauge({
      name: 'flowship_templates',
      help: 'Templates per exporter.',
      labelNames: ['exporter'],
      collect: () => [
        { labels: { exporter: '10.0.0.1:2055' }, value: 4 },
        { labels: { exporter: '[::1]:2055' }, value: 1 },
      ],
    });
    const h = r.histogram({ name: 'flowship_send_seconds', help: 'Send time.', buckets: [0.1, 1] });
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
    r.counter({ name: 'flowship_labelled_total', help: 'Nothing yet.', labelNames: ['x'] });
    r.gauge({ name: 'flowship_weird', help: 'Special values.', labelNames: ['v'] });
    const weird = r.get('flowship_weird');
    assert.ok(weird !== undefined && weird.type === 'gauge');
    r.gauge({ name: 'flowship_weird', help: 'ignored', labelNames: ['v'] })
      .labels({ v: 'nan' })
      .set(Number.NaN);
    r.gauge({ name: 'flowship_weird', help: 'ignored', labelNames: ['v'] })
      .labels({ v: 'inf' })
      .set(Number.NEGATIVE_INFINITY);

    assert.equal(
      r.prometheus(),
      [
        ...OVERFLOW_HEADER,
        '# HELP flowship_lines_total Lines read from C:\\\\logs\\nper file.',
        '# TYPE flowship_lines_total counter',
        'flowship_lines_total{input="goflow2",path="C:\\\\logs\\\\\\"odd\\"\\nname.log"} 2',
        'flowship_lines_total{input="goflow2",path="/var/log/a.log"} 1.5',
        '# HELP flowship_queue_events Events queued.',
        '# TYPE flowship_queue_events gauge',
        'flowship_queue_events 4',
        '# HELP flowship_uptime_seconds Uptime.',
        '# TYPE flowship_uptime_seconds gauge',
        'flowship_uptime_seconds 12.25',
        '# HELP flowship_templates Templates per exporter.',
        '# TYPE flowship_templates gauge',
        'flowship_templates{exporter="10.0.0.1:2055"} 4',
        'flowship_templates{exporter="[::1]:2055"} 1',
        '# HELP flowship_send_seconds Send time.',
        '# TYPE flowship_send_seconds histogram',
        'flowship_send_seconds_bucket{le="0.1"} 2',
        'flowship_send_seconds_bucket{le="1"} 3',
        'flowship_send_seconds_bucket{le="+Inf"} 4',
        'flowship_send_seconds_sum 3.65',
        'flowship_send_seconds_count 4',
        '# HELP flowship_labelled_total Nothing yet.',
        '# TYPE flowship_labelled_total counter',
        '# HELP flowship_weird Special values.',
        '# TYPE flowship_weird gauge',
        'flowship_weird{v="nan"} NaN',
        'flowship_weird{v="inf"} -Inf',
        '',
      ].join('\n'),
    );
  });

  test('every sample line parses back with the 0.0.4 grammar', () => {
    const r = new MetricsRegistry();
    const c = r.counter({ name: 'flowship_x_total', help: 'x', labelNames: ['a'] });
    const nasty = ['', 'plain', 'quote"in', 'back\\slash', 'new\nline', 'end\\', '\\"', 'ünïcødé ✓'];
    nasty.forEach((v, i) => {
      c.labels({ a: v }).inc(i + 1);
    });
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{a="((?:[^"\\\n]|\\\\|\\"|\\n)*)"\} (\S+)$/;
    const lines = r
      .prometheus()
      .split('\n')
      .filter((l) => l.startsWith('flowship_x_total'));
    assert.equal(lines.length, nasty.length);
    lines.forEach((line, i) => {
      const m = sample.exec(line);
      assert.ok(m, `unparsable: ${line}`);
      const unescaped = m[2].replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch));
      assert.equal(unescaped, nasty[i]);
      assert.equal(Number(m[3]), i + 1);
    });
  });

  test('caps label sets per metric: new ones fall into "other" and are counted', () => {
    const r = new MetricsRegistry({ maxLabelSets: 2 });
    const c = r.counter({
      name: 'flowship_packets_total',
      help: 'Packets.',
      labelNames: ['exporter', 'version'],
    });
    c.labels({ exporter: 'a', version: '9' }).inc();
    c.labels({ exporter: 'b', version: '9' }).inc();
    c.labels({ exporter: 'c', version: '9' }).inc(5);
    c.labels({ exporter: 'd', version: '10' }).inc(7);
    c.labels({ exporter: 'a', version: '9' }).inc(); // an admitted set keeps working
    assert.equal(c.labelSets, 3);
    assert.equal(c.get({ exporter: 'other', version: 'other' }), 12);
    assert.equal(c.get({ exporter: 'a', version: '9' }), 2);
    const text = r.prometheus();
    assert.match(text, /^flowship_packets_total\{exporter="other",version="other"\} 12$/m);
    assert.match(text, /^flowship_metrics_label_overflow_total\{metric="flowship_packets_total"\} 2$/m);
    assert.doesNotMatch(text, /exporter="c"/);
  });

  test('snapshot is plain JSON for /stats', () => {
    const r = new MetricsRegistry();
    r.counter({ name: 'flowship_a_total', help: 'A.' }).inc(3);
    r.gauge({ name: 'flowship_b', help: 'B.', labelNames: ['k'] })
      .labels({ k: 'v' })
      .set(-1);
    r.histogram({ name: 'flowship_c_seconds', help: 'C.', buckets: [1] }).observe(0.5);
    const snap = JSON.parse(JSON.stringify(r.snapshot()));
    assert.deepEqual(snap.flowship_a_total, {
      type: 'counter',
      help: 'A.',
      values: [{ labels: {}, value: 3 }],
    });
    assert.deepEqual(snap.flowship_b.values, [{ labels: { k: 'v' }, value: -1 }]);
    assert.deepEqual(snap.flowship_c_seconds.values, [
      {
        labels: {},
        count: 1,
        sum: 0.5,
        buckets: [
          { le: '1', count: 1 },
          { le: '+Inf', count: 1 },
        ],
      },
    ]);
    assert.deepEqual(snap.flowship_metrics_label_overflow_total.values, []);
  });

  test('registration rules', () => {
    const r = new MetricsRegistry();
    const a = r.counter({ name: 'flowship_same_total', help: 'x' });
    assert.equal(r.counter({ name: 'flowship_same_total', help: 'x' }), a, 'same name and type: same metric');
    assert.throws(
      () => r.gauge({ name: 'flowship_same_total', help: 'x' }),
      /already registered as a counter/,
    );
    assert.throws(() => r.counter({ name: 'bad-name', help: 'x' }), TypeError);
    assert.throws(() => r.counter({ name: 'ok_total', help: 'x', labelNames: ['__reserved'] }), TypeError);
    assert.throws(() => r.histogram({ name: 'h', help: 'x', labelNames: ['le'] }), TypeError);
    assert.throws(() => r.histogram({ name: 'h2', help: 'x', buckets: [1, 1] }), TypeError);
    const l = r.counter({ name: 'flowship_l_total', help: 'x', labelNames: ['a'] });
    assert.throws(() => l.labels({ b: 'x' }), /has no label 'b'/);
    const broken = r.gauge({
      name: 'flowship_broken',
      help: 'x',
      collect: () => {
        throw new Error('nope');
      },
    });
    assert.deepEqual(
      broken.samples(),
      [],
      'a failing callback reports nothing instead of failing the scrape',
    );
  });

  test('number and label formatting helpers', () => {
    assert.equal(formatNumber(Number.POSITIVE_INFINITY), '+Inf');
    assert.equal(formatNumber(1e-7), '1e-7');
    assert.equal(Number(formatNumber(2 ** 60)), 2 ** 60, 'shortest round-trip form, as Go parses it');
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  });
});

describe('callback metrics fed by several sources', () => {
  it('registering the same name again with another collect adds its samples (one per input)', () => {
    const registry = new MetricsRegistry();
    const a = { n: 3 };
    const b = { n: 5 };
    for (const [input, state] of [
      ['first', a],
      ['second', b],
    ] as const) {
      registry.counter({
        name: 'flowship_test_lines_total',
        help: 'Lines.',
        labelNames: ['input'],
        collect: () => [{ labels: { input }, value: state.n }],
      });
    }
    a.n = 4;
    const text = registry.prometheus();
    assert.match(text, /^flowship_test_lines_total\{input="first"\} 4$/m);
    assert.match(text, /^flowship_test_lines_total\{input="second"\} 5$/m);
  });

  it('a metric that keeps its own values refuses a collect callback', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'flowship_test_plain_total', help: 'Plain.' });
    assert.throws(
      () => registry.counter({ name: 'flowship_test_plain_total', help: 'Plain.', collect: () => 1 }),
      TypeError,
    );
  });
});
