/**
 * The decoder's dispatch (NETFLOW.md 1.1): versions, the `protocols` filter, and robustness
 * properties over random and mutated packets (fast-check, fixed seed; the large fuzz campaign is
 * a separate issue).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ALL_PROTOCOLS, type Protocol } from '../../../../src/inputs/netflow/decoder/decoder.ts';
import { DecodeError } from '../../../../src/util/errors.ts';
import {
  decoder,
  FROM,
  ip4,
  ipfix,
  ipfixTemplate,
  legacy,
  packet,
  set,
  u16,
  v9,
  v9Template,
  zeros,
} from './packets.ts';

/** One decodable packet per version, each giving exactly one flow record. */
const SAMPLES: Readonly<Record<Protocol, Buffer>> = {
  v1: legacy(1, {}, zeros(48)),
  v5: legacy(5, {}, zeros(48)),
  v6: legacy(6, {}, zeros(52)),
  v7: legacy(7, {}, zeros(52)),
  v8: legacy(8, { aggregation: 1 }, zeros(28)),
  v9: v9({}, set(0, v9Template(256, [[8, 4]])), set(256, ip4('10.0.0.1'))),
  ipfix: ipfix({}, set(2, ipfixTemplate(256, [[8, 4]])), set(256, ip4('10.0.0.1'))),
};

const reason = (expected: string) => (e: unknown) =>
  e instanceof DecodeError && e.code === 'FLOWSHIP_DECODE' && e.reason === expected;

describe('version dispatch and the protocols filter', () => {
  it('accepts all seven versions by default', () => {
    assert.deepEqual(ALL_PROTOCOLS, ['v1', 'v5', 'v6', 'v7', 'v8', 'v9', 'ipfix']);
    for (const [protocol, buf] of Object.entries(SAMPLES)) {
      const { records } = decoder().decode(buf, FROM);
      assert.equal(records.length, 1, protocol);
    }
  });

  it('a version not in `protocols` is a DecodeError with reason disabled_version', () => {
    for (const disabled of ALL_PROTOCOLS) {
      const d = decoder({ protocols: ALL_PROTOCOLS.filter((p) => p !== disabled) });
      assert.throws(() => d.decode(SAMPLES[disabled], FROM), reason('disabled_version'), disabled);
      for (const enabled of ALL_PROTOCOLS.filter((p) => p !== disabled)) {
        assert.equal(d.decode(SAMPLES[enabled], FROM).records.length, 1, `${enabled} with ${disabled} off`);
      }
    }
  });

  it("Filebeat's bare default (v5, v9, ipfix) refuses v1, v6, v7, v8", () => {
    const d = decoder({ protocols: ['v5', 'v9', 'ipfix'] });
    for (const p of ['v1', 'v6', 'v7', 'v8'] as const) {
      assert.throws(() => d.decode(SAMPLES[p], FROM), reason('disabled_version'));
    }
  });

  it('unknown versions are DecodeError unsupported_version; fewer than 2 bytes short_header', () => {
    for (const version of [0, 2, 3, 4, 11, 0x0900, 0xffff]) {
      assert.throws(
        () => decoder().decode(packet(u16(version), zeros(40)), FROM),
        reason('unsupported_version'),
      );
    }
    assert.throws(() => decoder().decode(Buffer.alloc(0), FROM), reason('short_header'));
    assert.throws(() => decoder().decode(Buffer.from([9]), FROM), reason('short_header'));
  });
});

describe('robustness (fast-check, fixed seed)', () => {
  const SEED = 20_260_101;
  const RUNS = 2_500;

  it(`random and mutated packets only ever throw DecodeError, and return (seed ${SEED})`, async () => {
    const worker = new Worker(new URL('./fuzz-worker.ts', import.meta.url), {
      workerData: { seed: SEED, numRuns: RUNS },
    });
    const LIMIT_MS = 120_000;
    const result = await new Promise<{ ok: boolean; runs?: number; message?: string }>((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        resolve({
          ok: false,
          message: `no result after ${LIMIT_MS} ms: a decode does not return (seed ${SEED})`,
        });
      }, LIMIT_MS);
      worker.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      worker.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    await worker.terminate();
    assert.ok(result.ok, result.message);
    assert.equal(result.runs, 3 * RUNS);
  });
});
