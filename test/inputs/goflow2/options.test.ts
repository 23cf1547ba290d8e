import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileFileRegex,
  resolveTailerOptions,
  TAILER_DEFAULTS,
} from '../../../src/inputs/goflow2/options.ts';
import { ConfigError } from '../../../src/util/errors.ts';

const base = { id: 'in', dataDir: '/tmp/x', onLine: async () => {} };

describe('tailer options', () => {
  it('defaults follow TAILER.md §2', () => {
    const r = resolveTailerOptions(base);
    assert.deepEqual(r.paths, ['/var/log/sflow/goflow2/*.log']);
    assert.deepEqual(
      r.excludeFiles.map((re) => re.source),
      ['\\.gz$'],
    );
    assert.equal(r.ignoreOlderMs, 72 * 3600_000);
    assert.equal(r.closeInactiveMs, 300_000);
    assert.equal(r.checkIntervalMs, 10_000);
    assert.equal(r.messageMaxBytes, 10 * 1024 * 1024);
    assert.equal(r.bufferSize, 64 * 1024);
    assert.equal(r.backoffInitMs, 2000);
    assert.equal(r.backoffMaxMs, 10_000);
    assert.equal(r.registryFlushMs, 1000);
    assert.deepEqual(r.fingerprint, { enabled: true, offset: 0, length: 1024 });
    assert.equal(r.fileIdentity, TAILER_DEFAULTS.fileIdentity);
  });

  it('(?i) becomes the i flag; RE2-only syntax is a config error', () => {
    const re = compileFileRegex('(?i)\\.GZ$');
    assert.ok(re instanceof RegExp);
    assert.equal(re.flags, 'i');
    assert.ok(re.test('/a/b.gz'));
    for (const bad of ['(?P<x>a)', 'a(?i)b', '\\z', '[[:alpha:]]', '\\pL', '(']) {
      assert.ok(!(compileFileRegex(bad) instanceof RegExp), bad);
    }
  });

  it('validates the constraints between options, listing every problem', () => {
    assert.throws(
      () =>
        resolveTailerOptions({
          ...base,
          ignoreOlderMs: 1000,
          closeInactiveMs: 5000,
          cleanInactiveMs: 2000,
          backoffInitMs: 20_000,
          fingerprint: { length: 10 },
          excludeFiles: ['(?P<n>x)'],
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, 'FLOWSHIP_CONFIG');
        const text = err.problems.join('\n');
        assert.match(text, /ignore_older: must exceed close.on_state_change.inactive/);
        assert.match(text, /clean_inactive: must exceed/);
        assert.match(text, /backoff/);
        assert.match(text, /fingerprint.length/);
        assert.match(text, /exclude_files/);
        return true;
      },
    );
    assert.throws(() => resolveTailerOptions({ ...base, fingerprint: { enabled: false } }), ConfigError);
    assert.doesNotThrow(() =>
      resolveTailerOptions({ ...base, fingerprint: { enabled: false }, fileIdentity: 'native' }),
    );
  });
});
