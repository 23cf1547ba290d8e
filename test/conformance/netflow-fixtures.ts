/**
 * Shared plumbing of the NetFlow conformance tests: decode fixture captures the way `flowship
 * decode` does (fixtures/netflow/README.md "How to compare", step 1) and normalise the records.
 *
 * Fixtures: fixtures/netflow/ (logstash-plugins/logstash-codec-netflow and andrewkroh/flowbeat,
 * Apache-2.0; see fixtures/netflow/README.md and NOTICE).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseNetworks } from '../../src/ecs/locality.ts';
import { NetflowNormalizer } from '../../src/ecs/netflow.ts';
import { NetflowDecoder } from '../../src/inputs/netflow/decoder/decoder.ts';
import type { DecodedRecord } from '../../src/inputs/netflow/decoder/types.ts';
import { buildDictionary } from '../../src/inputs/netflow/fields/dictionary.ts';
import type { Compatibility } from '../../src/inputs/netflow/fields/types.ts';
import { decodeCaptureFile } from '../../src/inputs/netflow/offline.ts';
import type { DecodeError } from '../../src/util/errors.ts';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/netflow/', import.meta.url));
export const DAT_EXPORTER = { ip: '192.0.2.1', port: 4444 };
export const EVENT_CREATED = new Date('2026-01-01T00:00:00.000Z');

export interface DecodedCapture {
  records: DecodedRecord[];
  errors: DecodeError[];
  decoder: NetflowDecoder;
}

export interface DecodeFixtureOptions {
  readonly compatibility?: Compatibility;
  readonly shareTemplates?: boolean;
}

/**
 * Decodes fixture files (paths relative to fixtures/netflow/, `.dat` or `.pcap`) in order into one
 * fresh decoder: sequence-reset detection off, no expiry, `.dat` packets from 192.0.2.1:4444.
 */
export function decodeFixtures(files: readonly string[], options: DecodeFixtureOptions = {}): DecodedCapture {
  const { compatibility = 'filebeat', shareTemplates = false } = options;
  const decoder = new NetflowDecoder({
    dictionary: buildDictionary({ compatibility }),
    compatibility,
    shareTemplates,
    detectSequenceReset: false,
    expirationTimeoutMs: 0,
  });
  const records: DecodedRecord[] = [];
  const errors: DecodeError[] = [];
  const summary = { datagrams: 0, records: 0, errors: 0, truncated: 0 };
  const decodeOptions = {
    decoder,
    exporter: DAT_EXPORTER,
    maxMessageSize: 10 * 1024, // the max_message_size default
    onError: (e: DecodeError) => errors.push(e),
  };
  for (const file of files) {
    for (const record of decodeCaptureFile(FIXTURES + file, decodeOptions, summary)) records.push(record);
  }
  return { records, errors, decoder };
}

/** Enrichments of the extended documents (R2, R3, R6); all off by default, as Filebeat. */
export interface FixtureEnrichment {
  readonly absoluteTimes?: boolean;
  readonly samplingRate?: boolean;
  readonly options?: boolean;
}

/** Every enrichment `enrich` turns on by default with `compatibility: extended` (NETFLOW.md 5.2). */
export const EXTENDED_ENRICHMENT: FixtureEnrichment = {
  absoluteTimes: true,
  samplingRate: true,
  options: true,
};

/** The normalizer as Filebeat's goldens expect it; enrichments for the extended documents. */
export function normalizer(options: FixtureEnrichment = {}): NetflowNormalizer {
  return new NetflowNormalizer({
    internalNetworks: parseNetworks(['private']),
    now: () => EVENT_CREATED,
    absoluteTimes: options.absoluteTimes ?? false,
    samplingRate: options.samplingRate ?? false,
    options: options.options ?? false,
  });
}

/** `dat_tests.yaml`: test name -> `.dat` files, in file order. */
export function datTests(): [name: string, files: string[]][] {
  const yaml = parse(readFileSync(`${FIXTURES}dat_tests.yaml`, 'utf8')) as {
    tests: Record<string, string[]>;
  };
  return Object.entries(yaml.tests);
}

/**
 * JSON.parse keeping every integer exact, as a bigint (Node 24 passes the source text of a
 * primitive as the reviver's third argument). Non-integer numbers stay numbers.
 */
export function parseLossless(text: string): unknown {
  return JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) => {
    if (typeof value === 'number' && context?.source !== undefined && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}

/** A document as it reaches Elasticsearch (JSON text), read back losslessly. */
export function asJson(doc: unknown): Record<string, unknown> {
  return parseLossless(JSON.stringify(doc)) as Record<string, unknown>;
}
