/**
 * What the kernel knows of a UDP socket that the process cannot see: datagrams it dropped
 * because the receive buffer was full, and the bytes waiting in that buffer. Linux lists every
 * UDP socket in /proc/net/udp and /proc/net/udp6, one line each (net/ipv4/udp.c,
 * udp4_format_sock):
 *
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 *   12: 0100007F:0807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81234 2 ffff... 0
 *        ^ hex IP:port                  ^ tx:rx queue bytes (hex)                      ^ inode          ^ drops
 *
 * A socket is found by its local port and its inode, and the inode is checked against the
 * process's own file descriptors (`socket:[inode]` links in /proc/<pid>/fd), so another
 * process on the same port (SO_REUSEPORT, a test peer) is not counted. Elsewhere than Linux the
 * files do not exist and the counters are simply unknown.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface UdpSocketCounters {
  /** Datagrams the kernel dropped for these sockets since they were opened. */
  drops: number;
  /** Bytes waiting in their receive buffers now. */
  rxQueueBytes: number;
  /** Sockets found. */
  sockets: number;
}

export interface UdpCountersOptions {
  /** Whose sockets; default this process. */
  pid?: number | 'self';
  /** Default `/proc`. */
  procRoot?: string;
}

/** Inodes of the sockets process `pid` holds open. */
function socketInodes(procRoot: string, pid: number | 'self'): Set<string> {
  const inodes = new Set<string>();
  const fdDir = join(procRoot, String(pid), 'fd');
  for (const fd of readdirSync(fdDir)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(join(fdDir, fd)));
      if (match !== null) inodes.add(match[1]);
    } catch {
      // closed between the listing and the link: not ours any more
    }
  }
  return inodes;
}

/**
 * The counters of the UDP sockets bound to `port` that the process holds, summed (a dual-stack
 * input has one socket per family); undefined where /proc cannot tell (not Linux, no access).
 */
export function udpSocketCounters(
  port: number,
  options: UdpCountersOptions = {},
): UdpSocketCounters | undefined {
  const { pid = 'self', procRoot = '/proc' } = options;
  let inodes: Set<string>;
  try {
    inodes = socketInodes(procRoot, pid);
  } catch {
    return undefined;
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const counters: UdpSocketCounters = { drops: 0, rxQueueBytes: 0, sockets: 0 };
  let readable = false;
  for (const file of ['udp', 'udp6']) {
    let text: string;
    try {
      text = readFileSync(join(procRoot, 'net', file), 'utf8');
      readable = true;
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 13) continue;
      const local = cols[1];
      if (local.slice(local.lastIndexOf(':') + 1) !== portHex) continue;
      if (!inodes.has(cols[9])) continue;
      counters.sockets++;
      counters.rxQueueBytes += Number.parseInt(cols[4].split(':')[1] ?? '0', 16) || 0;
      counters.drops += Number.parseInt(cols[12], 10) || 0;
    }
  }
  return readable ? counters : undefined;
}
