/** Kernel UDP counters from /proc: a real socket nobody reads overflows and the drops show. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { udpSocketCounters } from '../../../src/inputs/netflow/kernel-drops.ts';

const linux = process.platform === 'linux';

describe('udpSocketCounters', () => {
  it('parses /proc/net/udp and udp6, counting only the sockets the process holds', () => {
    const root = mkdtempSync(join(tmpdir(), 'flowship-proc-'));
    try {
      mkdirSync(join(root, 'net'));
      mkdirSync(join(root, '42', 'fd'), { recursive: true });
      symlinkSync('socket:[1001]', join(root, '42', 'fd', '3'));
      symlinkSync('socket:[1002]', join(root, '42', 'fd', '4'));
      symlinkSync('/dev/null', join(root, '42', 'fd', '5'));
      const header =
        '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';
      writeFileSync(
        join(root, 'net', 'udp'),
        header +
          '  1: 0100007F:0807 00000000:0000 07 00000000:00000400 00:00000000 00000000     0        0 1001 2 0000000000000000 17\n' +
          // the same port, another process's socket (SO_REUSEPORT): not counted
          '  2: 0100007F:0807 00000000:0000 07 00000000:00000100 00:00000000 00000000     0        0 9999 2 0000000000000000 5\n' +
          '  3: 0100007F:0808 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1002 2 0000000000000000 3\n',
      );
      writeFileSync(
        join(root, 'net', 'udp6'),
        header +
          '  4: 00000000000000000000000000000000:0807 00000000000000000000000000000000:0000 07 00000000:00000010 00:00000000 00000000     0        0 1002 2 0000000000000000 2\n',
      );
      assert.deepEqual(udpSocketCounters(2055, { pid: 42, procRoot: root }), {
        drops: 19,
        rxQueueBytes: 0x410,
        sockets: 2,
      });
      assert.equal(udpSocketCounters(2055, { pid: 43, procRoot: root }), undefined, 'no such process');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a socket of this process is found, with nothing dropped', {
    skip: !linux && 'needs Linux /proc',
  }, async () => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    try {
      assert.deepEqual(udpSocketCounters(socket.address().port), { drops: 0, rxQueueBytes: 0, sockets: 1 });
    } finally {
      socket.close();
    }
  });

  it('a real socket nobody reads overflows: the kernel drops show', {
    skip: !linux && 'needs Linux /proc',
  }, async () => {
    // a peer that binds with a small receive buffer and never reads
    const peer = spawn(
      'python3',
      [
        '-c',
        'import socket,sys,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,4096)\ns.bind(("127.0.0.1",0))\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [line] = await once(peer.stdout!, 'data');
      const port = Number(String(line).trim());
      const sender = createSocket('udp4');
      const payload = Buffer.alloc(1000, 1);
      for (let i = 0; i < 200; i++) sender.send(payload, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 200));
      sender.close();
      const counters = udpSocketCounters(port, { pid: peer.pid! });
      assert.ok(counters !== undefined);
      assert.equal(counters.sockets, 1);
      assert.ok(counters.drops > 0, `drops ${counters.drops}`);
      assert.ok(counters.rxQueueBytes > 0, `queue ${counters.rxQueueBytes}`);
      // nothing of ours is on that port
      assert.deepEqual(udpSocketCounters(port), { drops: 0, rxQueueBytes: 0, sockets: 0 });
    } finally {
      peer.kill('SIGKILL');
    }
  });
});
