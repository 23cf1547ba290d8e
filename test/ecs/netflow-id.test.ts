/** Deterministic NetFlow document ids: stable for the same record of the same datagram, distinct otherwise. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { datagramDigest, flowDocumentId } from '../../src/ecs/netflow-id.ts';
import { netflowV5Datagram } from '../helpers/netflow-v5.ts';

const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

describe('flowDocumentId', () => {
  it('is the same for the same input, exporter, datagram and record, and 27 base64url characters', () => {
    const digest = datagramDigest(netflowV5Datagram(0, 30, NOW));
    const id = flowDocumentId('nf', '192.0.2.1:2055', digest, 3);
    assert.equal(
      id,
      flowDocumentId('nf', '192.0.2.1:2055', datagramDigest(netflowV5Datagram(0, 30, NOW)), 3),
    );
    assert.match(id, /^[A-Za-z0-9_-]{27}$/);
  });

  it('changes with any part of the key', () => {
    const digest = datagramDigest(netflowV5Datagram(0, 30, NOW));
    const base = flowDocumentId('nf', '192.0.2.1:2055', digest, 3);
    const others = [
      flowDocumentId('other', '192.0.2.1:2055', digest, 3),
      flowDocumentId('nf', '192.0.2.1:2056', digest, 3),
      flowDocumentId('nf', '192.0.2.1:2055', digest, 4),
      // the next datagram, and the same flows exported a second later
      flowDocumentId('nf', '192.0.2.1:2055', datagramDigest(netflowV5Datagram(30, 30, NOW)), 3),
      flowDocumentId('nf', '192.0.2.1:2055', datagramDigest(netflowV5Datagram(0, 30, NOW + 1000)), 3),
    ];
    assert.equal(new Set([base, ...others]).size, others.length + 1);
  });

  it('two datagrams that differ only in a record (a sequence number left at 0) get different ids', () => {
    const a = netflowV5Datagram(0, 2, NOW);
    const b = Buffer.from(a);
    b.writeUInt16BE(8080, 24 + 48 + 34); // the second record's destination port
    assert.notEqual(
      flowDocumentId('nf', '192.0.2.1:2055', datagramDigest(a), 1),
      flowDocumentId('nf', '192.0.2.1:2055', datagramDigest(b), 1),
    );
  });
});
