import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it, mock } from 'node:test';
import type { ExporterAddress } from '../../../src/inputs/netflow/decoder/legacy.ts';
import { type ReceiverOptions, UdpReceiver } from '../../../src/inputs/netflow/receiver.ts';
import { FlowshipError } from '../../../src/util/errors.ts';
import { freeUdpPort } from '../../helpers/process.ts';

interface Received {
  payload: string;
  from: ExporterAddress;
}

function receiver(options: Partial<ReceiverOptions>, received: Received[] = []): UdpReceiver {
  return new UdpReceiver({
    host: '127.0.0.1',
    port: 0,
    network: 'udp',
    maxMessageSize: 10 * 1024,
    onDatagram: (payload, from) => received.push({ payload: payload.toString(), from }),
    ...options,
  });
}

async function send(type: 'udp4' | 'udp6', host: string, port: number, text: string): Promise<void> {
  const socket = dgram.createSocket(type);
  try {
    await new Promise<void>((resolve, reject) =>
      socket.send(text, port, host, (err) => (err ? reject(err) : resolve())),
    );
  } finally {
    socket.close();
  }
}

/** Waits until `received` holds `count` datagrams; fails after 2 s (a datagram that never comes). */
async function waitFor(received: Received[], count: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (received.length < count) {
    if (Date.now() > deadline) throw new Error(`${received.length} of ${count} datagrams arrived`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether an exclusive udp4 socket can take `address:port` right now. */
async function canBind(type: 'udp4' | 'udp6', address: string, port: number): Promise<boolean> {
  const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port, exclusive: true }, () => resolve());
    });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return false;
    throw err;
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

const started: UdpReceiver[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.stop()));
  mock.restoreAll();
});

async function startReceiver(options: Partial<ReceiverOptions>, received: Received[] = []) {
  const r = receiver(options, received);
  started.push(r);
  return { receiver: r, bound: await r.start() };
}

describe('UdpReceiver: wildcard hosts', () => {
  for (const host of ['0.0.0.0', '::', '', '::0']) {
    it(`network udp, host '${host}': one dual-stack socket on :: receives IPv6 and IPv4`, async () => {
      const received: Received[] = [];
      const { receiver: r, bound } = await startReceiver({ host, network: 'udp' }, received);
      assert.equal(bound.length, 1);
      assert.equal(r.socketCount, 1);
      const [{ address, family, port, dualStack }] = bound;
      assert.deepEqual({ address, family, dualStack }, { address: '::', family: 'IPv6', dualStack: true });
      await send('udp6', '::1', port, 'over IPv6');
      await send('udp4', '127.0.0.1', port, 'over IPv4');
      await waitFor(received, 2);
      const byPayload = new Map(received.map((d) => [d.payload, d.from]));
      assert.equal(byPayload.get('over IPv6')?.ip, '::1');
      assert.match(byPayload.get('over IPv6')!.address, /^\[::1\]:\d+$/);
      // ::ffff:127.0.0.1 on the socket, normalised
      assert.equal(byPayload.get('over IPv4')?.ip, '127.0.0.1');
      assert.match(byPayload.get('over IPv4')!.address, /^127\.0\.0\.1:\d+$/);
      // the socket holds the IPv4 port too
      assert.equal(await canBind('udp4', '0.0.0.0', port), false);
    });
  }

  it('network udp4, host 0.0.0.0: IPv4 only', async () => {
    const received: Received[] = [];
    const { bound } = await startReceiver({ host: '0.0.0.0', network: 'udp4' }, received);
    assert.equal(bound.length, 1);
    assert.deepEqual(
      { address: bound[0].address, family: bound[0].family, dualStack: bound[0].dualStack },
      { address: '0.0.0.0', family: 'IPv4', dualStack: false },
    );
    await send('udp4', '127.0.0.1', bound[0].port, 'v4');
    await waitFor(received, 1);
    assert.equal(await canBind('udp6', '::', bound[0].port), true, 'the IPv6 port is left free');
  });

  it('network udp6, host ::: IPv6 only', async () => {
    const received: Received[] = [];
    const { bound } = await startReceiver({ host: '::', network: 'udp6' }, received);
    assert.equal(bound.length, 1);
    assert.deepEqual(
      { address: bound[0].address, family: bound[0].family, dualStack: bound[0].dualStack },
      { address: '::', family: 'IPv6', dualStack: false },
    );
    await send('udp6', '::1', bound[0].port, 'v6');
    await waitFor(received, 1);
    assert.equal(await canBind('udp4', '0.0.0.0', bound[0].port), true, 'the IPv4 port is left free');
  });

  it('network udp, a wildcard on a host without IPv6: falls back to 0.0.0.0', async () => {
    const bind = dgram.Socket.prototype.bind;
    // Simulates a kernel without IPv6: binding :: fails as socket(AF_INET6) would.
    mock.method(dgram.Socket.prototype, 'bind', function (this: dgram.Socket, ...args: unknown[]) {
      const [options] = args as [{ address?: string }];
      if (typeof options === 'object' && options.address === '::') {
        const err = Object.assign(new Error('bind EAFNOSUPPORT ::'), { code: 'EAFNOSUPPORT' });
        process.nextTick(() => this.emit('error', err));
        return this;
      }
      return (bind as (...a: unknown[]) => dgram.Socket).apply(this, args);
    });
    const received: Received[] = [];
    const { receiver: r, bound } = await startReceiver({ host: '0.0.0.0', network: 'udp' }, received);
    assert.equal(r.socketCount, 1);
    assert.deepEqual(
      { address: bound[0].address, family: bound[0].family, dualStack: bound[0].dualStack },
      { address: '0.0.0.0', family: 'IPv4', dualStack: false },
    );
    await send('udp4', '127.0.0.1', bound[0].port, 'v4');
    await waitFor(received, 1);
    assert.equal(received[0].from.ip, '127.0.0.1');
  });

  it('network udp4 with ::, or udp6 with 0.0.0.0: nothing to listen on, a configuration error', async () => {
    for (const [host, network] of [
      ['::', 'udp4'],
      ['0:0:0:0:0:0:0:0', 'udp4'],
      ['0.0.0.0', 'udp6'],
    ] as const) {
      const r = receiver({ host, network });
      started.push(r);
      await assert.rejects(r.start(), {
        code: 'FLOWSHIP_CONFIG',
        message: `host '${host}' has no ${network} address to listen on`,
      });
    }
  });

  it('a name that does not resolve is a configuration error naming it', async () => {
    const r = receiver({ host: 'no-such-host.invalid' });
    started.push(r);
    await assert.rejects(r.start(), (err: unknown) => {
      assert.ok(err instanceof FlowshipError);
      assert.equal(err.code, 'FLOWSHIP_CONFIG');
      assert.match(err.message, /^host 'no-such-host\.invalid' cannot be resolved: /);
      return true;
    });
  });

  it('network udp, a wildcard whose port is taken: fails (no fallback for EADDRINUSE)', async () => {
    const port = await freeUdpPort();
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind({ address: '0.0.0.0', port, exclusive: true }, resolve));
    try {
      const r = receiver({ host: '0.0.0.0', port, network: 'udp' });
      started.push(r);
      await assert.rejects(r.start(), (err: unknown) => {
        assert.ok(err instanceof FlowshipError);
        assert.equal(err.code, 'FLOWSHIP_CONFIG');
        assert.match(err.message, /cannot listen on udp6 :::\d+: .*EADDRINUSE/);
        return true;
      });
      assert.equal(r.socketCount, 0);
    } finally {
      holder.close();
    }
  });
});

describe('UdpReceiver: read_buffer', () => {
  it('a size Node refuses (2 GiB) is a FlowshipError naming read_buffer, and the port is freed', async () => {
    const port = await freeUdpPort();
    const r = receiver({ host: '127.0.0.1', port, network: 'udp4', readBuffer: 2 ** 31 });
    started.push(r);
    await assert.rejects(r.start(), (err: unknown) => {
      assert.ok(err instanceof FlowshipError);
      assert.equal(err.code, 'FLOWSHIP_CONFIG');
      assert.match(err.message, /^read_buffer 2147483648 cannot be set on udp 127\.0\.0\.1:\d+: /);
      return true;
    });
    assert.equal(r.socketCount, 0);
    assert.equal(await canBind('udp4', '127.0.0.1', port), true, 'the socket was closed');
  });

  it('reports what was asked for and what the kernel granted, in usable bytes', async () => {
    const { bound } = await startReceiver({ host: '127.0.0.1', network: 'udp4', readBuffer: 64 * 1024 });
    assert.equal(bound[0].readBuffer?.requested, 64 * 1024);
    assert.ok(bound[0].readBuffer!.granted >= 64 * 1024, `granted ${bound[0].readBuffer!.granted}`);
    const { bound: unset } = await startReceiver({ host: '127.0.0.1', network: 'udp4' });
    assert.equal(unset[0].readBuffer, undefined);
  });

  it('a grant capped by net.core.rmem_max is reported smaller than the request', {
    skip: process.platform !== 'linux' && 'Linux only (reads /proc/sys/net/core/rmem_max)',
  }, async () => {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    const requested = Math.min(2 ** 31 - 1, rmemMax * 2);
    const { bound } = await startReceiver({ host: '127.0.0.1', network: 'udp4', readBuffer: requested });
    assert.deepEqual(bound[0].readBuffer, { requested, granted: rmemMax });
  });
});

describe('UdpReceiver: lifecycle', () => {
  it('stop() while start() is still binding leaves no socket open', async () => {
    const port = await freeUdpPort();
    // localhost: two sockets, bound one after the other
    const r = receiver({ host: 'localhost', port, network: 'udp' });
    const starting = r.start();
    const stopping = r.stop();
    await stopping;
    await assert.rejects(starting, { code: 'FLOWSHIP_CONFIG', message: /stopped while it was starting/ });
    assert.equal(r.socketCount, 0);
    assert.equal(await canBind('udp4', '127.0.0.1', port), true, '127.0.0.1 is free');
    assert.equal(await canBind('udp6', '::1', port), true, '::1 is free');
    assert.equal(r.stop(), stopping, 'stop is idempotent');
    await assert.rejects(r.start(), { code: 'FLOWSHIP_CONFIG' }, 'no start after stop');
  });

  it('stop() while the second socket of localhost is binding closes both', async () => {
    const port = await freeUdpPort();
    const r = receiver({ host: 'localhost', port, network: 'udp' });
    const bind = dgram.Socket.prototype.bind;
    let stopping: Promise<void> | undefined;
    mock.method(dgram.Socket.prototype, 'bind', function (this: dgram.Socket, ...args: unknown[]) {
      const [options] = args as [{ address?: string }];
      // the stop arrives while ::1 is being bound, after 127.0.0.1 was
      if (typeof options === 'object' && options.address === '::1') stopping = r.stop();
      return (bind as (...a: unknown[]) => dgram.Socket).apply(this, args);
    });
    await assert.rejects(r.start(), { code: 'FLOWSHIP_CONFIG', message: /stopped while it was starting/ });
    assert.ok(stopping !== undefined);
    await stopping;
    assert.equal(r.socketCount, 0);
    assert.equal(await canBind('udp4', '127.0.0.1', port), true, '127.0.0.1 is free');
    assert.equal(await canBind('udp6', '::1', port), true, '::1 is free');
  });

  it('start() is idempotent', async () => {
    const r = receiver({ host: '127.0.0.1', network: 'udp4' });
    started.push(r);
    assert.equal(r.start(), r.start());
    await r.start();
    assert.equal(r.socketCount, 1);
  });
});
