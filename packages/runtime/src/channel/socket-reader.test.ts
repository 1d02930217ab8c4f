import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LendableSocket } from '../services/lendable-socket.js';
import { SocketReader } from './socket-reader.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A loopback connection whose client end is lent (Node stops reading it): its descriptor, guard and the server's end. */
async function lentPair(server: Server): Promise<{ fd: number; guard: Int32Array; peer: Socket }> {
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = new LendableSocket();
  await new Promise<void>((resolve) => client.connect((server.address() as { port: number }).port, '127.0.0.1', resolve));
  const peer = await accepted;
  const lending = client.lend();
  if (lending === undefined) throw new Error('not lent');
  cleanups.push(() => client.destroy(), () => peer.destroy());
  return { fd: lending.fd, guard: lending.guard, peer };
}

/** The process's virtual size in bytes (`VmSize` of /proc/self/status). */
function virtualSize(): number {
  const line = /^VmSize:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(line?.[1]) * 1024;
}

describe('SocketReader', () => {
  it('readers share one memory: 2,000 of them reserve no address space of their own, and each still reads its own socket', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const a = await lentPair(server);
    const b = await lentPair(server);
    const readerA = new SocketReader(a.fd);
    const before = virtualSize();
    const readers = Array.from({ length: 2000 }, () => new SocketReader(b.fd));
    // A memory of its own per reader reserved about 10 GiB each.
    expect(virtualSize() - before).toBeLessThan(512 * 1024 * 1024);
    expect(() => new WebAssembly.Memory({ initial: 1 })).not.toThrow();
    a.peer.write('from a');
    b.peer.write('from b');
    const readerB = readers[readers.length - 1];
    const readA = readerA.read(a.guard, 1000);
    const readB = readerB?.read(b.guard, 1000);
    expect('bytes' in readA && readA.bytes.toString()).toBe('from a');
    expect(readB !== undefined && 'bytes' in readB && readB.bytes.toString()).toBe('from b');
    expect(readerA.read(a.guard, 10)).toEqual({ ended: 'timeout' });
  });
});
