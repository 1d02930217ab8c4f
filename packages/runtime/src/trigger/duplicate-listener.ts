/**
 * A listening socket of this process, under a descriptor number of its own.
 *
 * Serving workers (guest/serve-http.ts) accept on one listening socket. Sharing its descriptor
 * NUMBER between threads is not safe: each thread's listener closes the number when it stops, so
 * the second close hits whatever the process opened under that number in between (a client's
 * connection, a database file), and another thread's event loop then aborts in `epoll_ctl` on a
 * descriptor closed under it. Each listener must own its own descriptor for the same socket.
 *
 * Node 20 has no `dup(2)` (and `reusePort` comes with Node 22.12), but a descriptor sent over a
 * child process's IPC channel (SCM_RIGHTS) arrives as a new one. So a short-lived child inherits
 * the socket as its descriptor 4 and sends it straight back; what arrives is a handle of the
 * same socket with a new number, owned by the handle alone. The child never listens or accepts:
 * it wraps the descriptor without reading and exits once the message is written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ListenError } from '../errors.js';

/** The child's program: wrap descriptor 4 (no reading), send its handle back, exit. */
const ECHO = "const s=new (require('node:net').Socket)({fd:4,readable:false,writable:false});process.send('listener',s._handle,()=>process.exit(0));";

/** How long the child may take (it starts a Node process: ~50–250 ms here). */
const DUPLICATE_TIMEOUT_MS = 30_000;

/** A libuv TCP handle, as `net.Server#listen` accepts it. */
export type ListenerHandle = object & { readonly fd?: number; close(): void };

/** The local address a listening socket is bound to. */
export interface BoundAddress {
  address: string;
  port: number;
}

/**
 * A new handle, with its own descriptor, of the listening socket `fd`. With `expected`, the
 * socket must be bound to that address: a number reported by another thread may have been closed
 * and reused since (by another server's socket, say), and a worker must not serve what it holds.
 * @throws {ListenError} `RUNTIME_HTTP_LISTEN_FAILED` when the child cannot start or sends nothing, or the socket is bound elsewhere.
 */
export function duplicateListener(fd: number, expected?: BoundAddress): Promise<ListenerHandle> {
  return new Promise<ListenerHandle>((resolve, reject) => {
    let child: ChildProcess | undefined;
    const fail = (why: string, cause?: unknown): void => {
      clearTimeout(timer);
      child?.kill();
      reject(new ListenError('RUNTIME_HTTP_LISTEN_FAILED', `Cannot share the listening socket (descriptor ${fd}) with this worker: ${why}.`, cause === undefined ? undefined : { cause }));
    };
    const timer = setTimeout(() => fail(`the helper process sent nothing in ${DUPLICATE_TIMEOUT_MS} ms`), DUPLICATE_TIMEOUT_MS);
    // Without NODE_OPTIONS: a --require or --inspect meant for the app has no place in the child.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    try {
      child = spawn(process.execPath, ['-e', ECHO], { stdio: ['ignore', 'ignore', 'pipe', 'ipc', fd], env });
    } catch (err) {
      fail(`the helper process did not start (${(err as Error).message})`, err);
      return;
    }
    // Its last error line says why (e.g. "Unsupported fd type: FILE" for a descriptor that is no socket).
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      if (stderr.length < 16_384) stderr += text;
    });
    child.once('error', (err) => fail(`the helper process did not start (${err.message})`, err));
    child.once('close', (code, signal) => {
      const why = /^\w*Error\b.*$/m.exec(stderr)?.[0];
      fail(`the helper process ended (${signal ?? `exit code ${String(code)}`}) before sending it${why === undefined ? '' : `: ${why}`}`);
    });
    child.once('message', (_message, handle) => {
      clearTimeout(timer);
      child?.removeAllListeners('close');
      if (child?.connected === true) child.disconnect();
      if (handle === undefined || handle === null || typeof (handle as { fd?: unknown }).fd !== 'number') {
        fail('the helper process sent no socket');
        return;
      }
      const listener = handle as ListenerHandle;
      if (expected !== undefined) {
        const bound = boundAddressOf(listener);
        if (bound === undefined || bound.port !== expected.port || bound.address !== expected.address) {
          listener.close();
          fail(`it is no longer the socket bound to ${expected.address} port ${expected.port} (it is bound to ${bound === undefined ? 'no TCP address' : `${bound.address} port ${bound.port}`}); its number was reused`);
          return;
        }
      }
      resolve(listener);
    });
  });
}

/** The address a TCP handle is bound to (libuv's getsockname), or undefined for any other handle. */
function boundAddressOf(handle: ListenerHandle): BoundAddress | undefined {
  const out: { address?: unknown; port?: unknown } = {};
  const getsockname = (handle as { getsockname?: (out: object) => number }).getsockname;
  if (typeof getsockname !== 'function' || getsockname.call(handle, out) !== 0) return undefined;
  return typeof out.address === 'string' && typeof out.port === 'number' ? { address: out.address, port: out.port } : undefined;
}
