/** Deterministic NetFlow document ids: stable for the same record of the same packet, distinct otherwise. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flowDocumentId } from '../../src/ecs/netflow-id.ts';
import type { ExporterMeta } from '../../src/inputs/netflow/decoder/types.ts';

const exporter: ExporterMeta = {
  version: 10,
  timestamp: new Date('2026-11-22T10:00:00Z'),
  uptimeMillis: 0,
  address: '192.0.2.1:4739',
  ip: '192.0.2.1',
  sourceId: 7,
  sequence: 1000,
};

describe('flowDocumentId', () => {
  it('is the same for the same input, packet and record, and 27 base64url characters', () => {
    const id = flowDocumentId('nf', exporter, 3);
    assert.equal(id, flowDocumentId('nf', { ...exporter, timestamp: new Date(exporter.timestamp) }, 3));
    assert.match(id, /^[A-Za-z0-9_-]{27}$/);
  });

  it('changes with any part of the key', () => {
    const base = flowDocumentId('nf', exporter, 3);
    const others = [
      flowDocumentId('other', exporter, 3),
      flowDocumentId('nf', exporter, 4),
      flowDocumentId('nf', { ...exporter, address: '192.0.2.1:4740' }, 3),
      flowDocumentId('nf', { ...exporter, sourceId: 8 }, 3),
      flowDocumentId('nf', { ...exporter, sequence: 1001 }, 3),
      flowDocumentId('nf', { ...exporter, version: 9 }, 3),
      flowDocumentId('nf', { ...exporter, timestamp: new Date(exporter.timestamp.getTime() + 1000) }, 3),
    ];
    assert.equal(new Set([base, ...others]).size, others.length + 1);
  });

  it('without a sequence number (v1) each call is a fresh random id', () => {
    const v1 = { ...exporter, version: 1, sequence: undefined, sourceId: undefined };
    assert.notEqual(flowDocumentId('nf', v1, 0), flowDocumentId('nf', v1, 0));
  });
});
