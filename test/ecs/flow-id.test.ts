/**
 * Vectors from the NETFLOW.md 4.1 table (Filebeat's output for the same flows; `X6k2SQeAX5c` is
 * also in Filebeat's `Netflow-9-IE150-IE151` golden file).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flowId } from '../../src/ecs/flow-id.ts';
import { parseIp } from '../../src/ecs/ip.ts';

const ip = (text: string): Uint8Array => {
  const parsed = parseIp(text);
  assert.ok(parsed, `${text} should parse`);
  return parsed;
};
const TCP = 6;
const UDP = 17;

describe('flowId', () => {
  it('matches Filebeat on the NETFLOW.md 4.1 vectors', () => {
    assert.equal(flowId(ip('10.113.7.54'), 41717, ip('172.16.21.27'), 443, TCP), 'dO-Anbp9xpw');
    assert.equal(flowId(ip('192.168.99.7'), 61910, ip('31.13.87.36'), 443, TCP), 'SKsZNpZob60');
    assert.equal(flowId(ip('192.168.0.3'), 137, ip('192.168.0.2'), 137, UDP), 'X6k2SQeAX5c');
    assert.equal(flowId(ip('192.168.0.2'), 137, ip('192.168.0.3'), 137, UDP), 'DphCSeR-84k');
    assert.equal(flowId(ip('10.0.13.1'), 5228, ip('192.168.0.98'), 52734, TCP), '1fVpsD_mB5k');
  });

  it('no IPs, no ports, tcp: 0.0.0.0 (4 bytes) and port 0', () => {
    assert.equal(flowId(undefined, undefined, undefined, undefined, TCP), 'Vhs9T5k296w');
    const zero = new Uint8Array(4);
    assert.equal(flowId(zero, 0, zero, 0, TCP), 'Vhs9T5k296w');
    // 0.0.0.0 as 16 bytes is a different input, so a different id.
    assert.notEqual(flowId(new Uint8Array(16), 0, new Uint8Array(16), 0, TCP), 'Vhs9T5k296w');
  });

  it('puts the endpoint with the higher port first, so both directions share an id', () => {
    const forward = flowId(ip('10.113.7.54'), 41717, ip('172.16.21.27'), 443, TCP);
    assert.equal(flowId(ip('172.16.21.27'), 443, ip('10.113.7.54'), 41717, TCP), forward);
  });

  it('is not symmetric for equal ports', () => {
    assert.notEqual(
      flowId(ip('192.168.0.3'), 137, ip('192.168.0.2'), 137, UDP),
      flowId(ip('192.168.0.2'), 137, ip('192.168.0.3'), 137, UDP),
    );
  });

  it('defaults a missing protocol to 0', () => {
    assert.equal(
      flowId(ip('10.0.0.1'), 1, ip('10.0.0.2'), 2, undefined),
      flowId(ip('10.0.0.1'), 1, ip('10.0.0.2'), 2, 0),
    );
    assert.notEqual(
      flowId(ip('10.0.0.1'), 1, ip('10.0.0.2'), 2, 0),
      flowId(ip('10.0.0.1'), 1, ip('10.0.0.2'), 2, TCP),
    );
  });

  it('truncates ports to 16 bits and the protocol to 8, like Go conversions', () => {
    const id = flowId(ip('10.0.0.1'), 80, ip('10.0.0.2'), 1024, TCP);
    assert.equal(flowId(ip('10.0.0.1'), 0x10000 + 80, ip('10.0.0.2'), 1024, 0x100 + TCP), id);
  });

  it('hashes raw bytes: an IPv4-mapped address is not its IPv4 form', () => {
    assert.notEqual(
      flowId(ip('::ffff:10.0.0.1'), 80, ip('::ffff:10.0.0.2'), 1024, TCP),
      flowId(ip('10.0.0.1'), 80, ip('10.0.0.2'), 1024, TCP),
    );
  });

  it('always returns 11 base64url characters, for IPv4, IPv6 and mixed inputs', () => {
    const inputs: [Uint8Array | undefined, Uint8Array | undefined][] = [
      [ip('10.0.0.1'), ip('10.0.0.2')],
      [ip('2001:db8::1'), ip('2001:db8::2')],
      [undefined, ip('2001:db8::2')],
      [ip('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), ip('255.255.255.255')],
    ];
    const seen = new Set<string>();
    for (const [a, b] of inputs) {
      for (let port = 0; port < 200; port++) {
        const id = flowId(a, port, b, 65535 - port, port & 0xff);
        assert.match(id, /^[A-Za-z0-9_-]{11}$/);
        seen.add(id);
      }
    }
    assert.equal(seen.size, inputs.length * 200);
  });

  it('does not keep or modify its inputs', () => {
    const a = ip('2001:db8::1');
    const b = ip('10.0.0.2');
    const first = flowId(a, 1, b, 2, TCP);
    flowId(ip('192.0.2.1'), 3, ip('192.0.2.2'), 4, UDP);
    assert.equal(flowId(a, 1, b, 2, TCP), first);
    assert.deepEqual(a, ip('2001:db8::1'));
  });
});
