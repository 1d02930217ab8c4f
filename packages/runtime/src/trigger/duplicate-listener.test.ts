import { createServer, connect, type Server } from 'node:net';
import { openSync, closeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ListenError } from '../errors.js';
import { duplicateListener } from './duplicate-listener.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
});

function listening(server: Server, target: unknown): Promise<void> {
  servers.push(server);
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(target as number, () => resolve());
  });
}

/** Which server answers one connection: the byte it writes. */
function answerOf(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (chunk) => (got += chunk.toString()));
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
  });
}

const closeServer = (server: Server): Promise<void> => new Promise<void>((resolve) => server.close(() => resolve()));

describe('duplicateListener', () => {
  it('gives a handle of the same socket under a new descriptor, which outlives the original', async () => {
    const first = createServer((s) => s.end('1'));
    await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', () => resolve()));
    servers.push(first);
    const port = (first.address() as { port: number }).port;
    const fd = (first as unknown as { _handle: { fd: number } })._handle.fd;

    const handle = await duplicateListener(fd);
    expect(handle.fd).toBeGreaterThan(2);
    expect(handle.fd).not.toBe(fd);
    const second = createServer((s) => s.end('2'));
    await listening(second, handle);

    const answers = new Set<string>();
    for (let i = 0; i < 40 && answers.size < 2; i++) answers.add(await answerOf(port));
    expect(answers).toEqual(new Set(['1', '2']));

    // Closing the first listener closes only its descriptor: the socket stays open for the second,
    // and a file opened now (which may reuse the first's number) is left alone when the second closes.
    await closeServer(first);
    const file = openSync(import.meta.filename, 'r');
    try {
      for (let i = 0; i < 5; i++) expect(await answerOf(port)).toBe('2');
      await closeServer(second);
      expect(() => closeSync(openSync(`/proc/self/fd/${file}`, 'r'))).not.toThrow();
    } finally {
      closeSync(file);
    }
    // Nothing listens any more. The helper child that copied the socket may still be exiting
    // for a few milliseconds: a connection queued on its copy meanwhile is reset, not refused.
    let code: unknown;
    for (let i = 0; i < 40 && code !== 'ECONNREFUSED'; i++) {
      code = await answerOf(port).then(() => 'answered', (e: { code?: unknown }) => e.code);
      if (code !== 'ECONNREFUSED') await new Promise((r) => setTimeout(r, 25));
    }
    expect(code).toBe('ECONNREFUSED');
  });

  it('refuses a descriptor bound elsewhere than expected (a reused number), and accepts the expected one', async () => {
    const app = createServer((s) => s.end('app'));
    const stranger = createServer((s) => s.end('stranger'));
    await listening(app, 0);
    await listening(stranger, 0);
    const appPort = (app.address() as { port: number }).port;
    const strangerPort = (stranger.address() as { port: number }).port;
    const strangerFd = (stranger as unknown as { _handle: { fd: number } })._handle.fd;
    const err = await duplicateListener(strangerFd, { address: '::', port: appPort }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ListenError);
    expect(err).toMatchObject({ code: 'RUNTIME_HTTP_LISTEN_FAILED' });
    expect((err as Error).message).toContain(`bound to :: port ${appPort}`);
    expect((err as Error).message).toContain(`port ${strangerPort}`);
    // The expected socket passes the check and serves.
    const appFd = (app as unknown as { _handle: { fd: number } })._handle.fd;
    const handle = await duplicateListener(appFd, { address: '::', port: appPort });
    const second = createServer((s) => s.end('app'));
    await listening(second, handle);
    expect(await answerOf(appPort)).toBe('app');
  });

  it('fails with a coded error when the descriptor is not a listening socket', async () => {
    const file = openSync(import.meta.filename, 'r');
    try {
      const err = await duplicateListener(file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ListenError);
      expect(err).toMatchObject({ code: 'RUNTIME_HTTP_LISTEN_FAILED' });
      expect((err as Error).message).toContain(`descriptor ${file}`);
      expect((err as Error).message).toContain('Unsupported fd type');
    } finally {
      closeSync(file);
    }
  });
});
