import { connect, createServer, type Socket } from 'node:net';
import type { Worker } from 'node:worker_threads';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { startPostgres, type PostgresServer } from '@spinel/test-utils';
import type { BridgeServer } from '../channel/bridge-server.js';
import { laneWrite } from '../channel/socket-lane.js';
import { socketReader } from '../channel/socket-reader.js';
import { runLaneWorker, serveOnChannel, type Cleanups } from '../../test/test-lane-harness.js';
import type { PgLaneStep } from '../../test/test-pg-lane-worker.js';
import { LendableSocket } from './lendable-socket.js';
import type { PgParameterValue } from './pg-values.js';
import { createPostgresService, type PostgresService } from './postgres-service.js';

let server: PostgresServer;
let admin: pg.Client;
beforeAll(async () => {
  server = await startPostgres();
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
}, 60_000);
afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

const te = new TextEncoder();
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A PostgreSQL service served on a channel; `ops` records every operation that reached the main thread. */
function servePg(onStep?: (what: unknown) => unknown): { service: PostgresService; bridge: BridgeServer; ops: string[] } {
  const service = createPostgresService({ allowedHosts: new Map([['c', AllowedHosts.parse([`postgres://127.0.0.1:${server.port}`])]]) });
  return { service, ...serveOnChannel('pg', service, cleanups, onStep) };
}

function runWorker(bridge: BridgeServer, steps: PgLaneStep[], endRequest = false): { worker: Worker; outcomes: Promise<unknown[]> } {
  return runLaneWorker('./test-pg-lane-worker.ts', bridge, { address: server.url, steps, endRequest }, cleanups);
}

async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  for (const started = Date.now(); !(await done()); ) {
    if (Date.now() - started > 20_000) throw new Error(`not within 20 s: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pidOf = (outcome: unknown): unknown => (outcome as { ok: { rows: Array<Array<{ val: unknown }>> } }).ok.rows[0]?.[0]?.val;

describe('PostgreSQL connections lent to a worker', () => {
  it('serve statements from the worker: every value type, results and statements larger than any socket buffer, server errors with their fields', async () => {
    const { service, bridge, ops } = servePg();
    const params: PgParameterValue[] = [
      { tag: 'boolean', val: true },
      { tag: 'int16', val: -32768 },
      { tag: 'int32', val: 2147483647 },
      { tag: 'int64', val: -9223372036854775808n },
      { tag: 'floating32', val: Math.fround(3.14) },
      { tag: 'floating64', val: -1.5e300 },
      { tag: 'str', val: 'héllo "world" \\ ' },
      { tag: 'binary', val: new Uint8Array([0, 1, 254, 255]) },
      { tag: 'date', val: [2024, 2, 29] },
      { tag: 'time', val: [23, 59, 58, 123456000] },
      { tag: 'datetime', val: [1999, 12, 31, 23, 59, 59, 999999000] },
      { tag: 'uuid', val: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' },
      { tag: 'decimal', val: '-12345678901234567890.0123456789' },
      { tag: 'range-int64', val: [undefined, [9000000000n, 'exclusive']] },
      { tag: 'array-str', val: ['a,b', undefined, 'q"uote', 'NULL', ''] },
      { tag: 'interval', val: { micros: -3723000004n, days: 5, months: 14 } },
      { tag: 'db-null' },
    ];
    const casts = ['bool', 'int2', 'int4', 'int8', 'float4', 'float8', 'text', 'bytea', 'date', 'time', 'timestamp', 'uuid', 'numeric', 'int8range', 'text[]', 'interval', 'text'];
    const big = 'x'.repeat(3 * 1024 * 1024 + 7);
    const outcomes = await runWorker(bridge, [
      ['query', `SELECT ${casts.map((t, i) => `$${i + 1}::${t} AS c${i}`).join(', ')}`, params],
      ['execute', 'CREATE TEMP TABLE lane_t (id int PRIMARY KEY, v text)', []],
      ['execute', 'INSERT INTO lane_t VALUES ($1, $2), (2, NULL)', [{ tag: 'int32', val: 1 }, { tag: 'str', val: big }]],
      ['query', 'SELECT length(v), v FROM lane_t ORDER BY id', []],
      ['execute', 'INSERT INTO lane_t VALUES (1, $1)', [{ tag: 'str', val: 'x' }]],
      ['query', "SELECT '10.1.2.3'::inet, n FROM generate_series(1, 3) n", []],
      ['query', 'SELECT 1', [{ tag: 'uuid', val: 'nope' }]],
      ['query', 'SELECT 1; SELECT 2', []],
      ['execute', "COPY lane_t FROM STDIN", []],
      ['execute', 'UPDATE lane_t SET v = v', []],
      ['drop'],
    ]).outcomes;
    const row = (outcomes[0] as { ok: { columns: Array<{ name: string }>; rows: unknown[][] } }).ok;
    expect(row.columns[0]?.name).toBe('c0');
    expect(row.rows[0]).toEqual(params);
    expect(outcomes[1]).toEqual({ ok: 0n });
    expect(outcomes[2]).toEqual({ ok: 2n });
    const rows = (outcomes[3] as { ok: { rows: Array<Array<{ tag: string; val?: unknown }>> } }).ok.rows;
    expect(rows[0]?.[0]).toEqual({ tag: 'int32', val: big.length });
    // Compared as one boolean: a failing deep equality would print a 3 MB diff.
    const text = rows[0]?.[1]?.val as string;
    expect(text.length === big.length && text === big).toBe(true);
    expect(rows[1]).toEqual([{ tag: 'db-null' }, { tag: 'db-null' }]);
    expect(outcomes[4]).toMatchObject({ error: { tag: 'query-failed', val: { tag: 'db-error', val: { code: '23505', severity: 'ERROR', detail: 'Key (id)=(1) already exists.' } } } });
    expect((outcomes[4] as { error: { val: { val: { extras: unknown[] } } } }).error.val.val.extras).toContainEqual(['constraint', 'lane_t_pkey']);
    const inet = (outcomes[5] as { ok: { columns: unknown[]; rows: unknown[][] } }).ok;
    expect(inet.columns[0]).toEqual({ name: 'inet', dataType: { tag: 'other', val: 'inet' } });
    expect(inet.rows.map((r) => r[1])).toEqual([1, 2, 3].map((val) => ({ tag: 'int32', val })));
    expect(inet.rows[0]?.[0]).toEqual({ tag: 'unsupported', val: te.encode('10.1.2.3') });
    expect(outcomes[6]).toEqual({ error: { tag: 'bad-parameter', val: 'invalid UUID nope' } });
    expect(outcomes[7]).toMatchObject({ error: { tag: 'query-failed', val: { tag: 'db-error', val: { code: '42601' } } } });
    expect(outcomes[8]).toMatchObject({ error: { tag: 'query-failed' } });
    // The connection stayed in step through every error: the next statement reads its own result.
    expect(outcomes[9]).toEqual({ ok: 2n });
    // Only the connection's open (which lent it) and drop reached the main thread as calls.
    expect(ops).toEqual(['open-lent', 'lease', 'drop']);
    await until('the dropped connection is reset', () => service.stats().resetting === 0);
    // Given back, node-postgres reads it again.
    const again = await service.open('o2', 'c', server.url);
    expect(again.ok && (await service.query('o2', again.value, 'SELECT $1::int4', [{ tag: 'int32', val: 7 }]))).toEqual({ ok: true, value: { columns: [{ name: 'int4', dataType: { tag: 'int32' } }], rows: [[{ tag: 'int32', val: 7 }]] } });
    service.releaseOwner('o2');
  });

  it('a connection killed mid-statement gives the interface error, later statements fail too, and it is not pooled', async () => {
    const { service, bridge } = servePg(async () => {
      // The worker is about to block on pg_sleep: end its backend while it waits.
      setTimeout(() => void admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(10)%' AND pid <> pg_backend_pid()"), 300);
      return 'go';
    });
    const outcomes = await runWorker(bridge, [['query', 'SELECT pg_backend_pid()', []], ['post', 'blocking'], ['query', 'SELECT pg_sleep(10)', []], ['query', 'SELECT 1', []], ['drop'], ['open'], ['query', 'SELECT pg_backend_pid()', []], ['drop']]).outcomes;
    expect(outcomes[2]).toMatchObject({ error: { tag: 'query-failed' } });
    expect(outcomes[3]).toMatchObject({ error: { tag: 'query-failed' } });
    // The next connection is a new backend: the killed one was not pooled.
    expect(pidOf(outcomes[6])).toBeTypeOf('number');
    expect(pidOf(outcomes[6])).not.toEqual(pidOf(outcomes[0]));
    await until('everything released', () => service.stats().held === 0 && service.stats().resetting === 0);
  });

  it('gives the next guest a clean session after a guest changed it on a lent connection; a request ending without drop gives it back too', async () => {
    const { service, bridge } = servePg();
    const first = await runWorker(bridge, [['execute', "SET application_name = 'leaky'", []], ['execute', 'BEGIN', []], ['execute', 'CREATE TEMP TABLE lane_tmp (x int)', []], ['query', 'SELECT pg_backend_pid()', []]], true).outcomes;
    await until('the connection is released and reset', () => service.stats().held === 0 && service.stats().resetting === 0);
    const second = await runWorker(bridge, [['query', "SELECT pg_backend_pid(), current_setting('application_name'), to_regclass('lane_tmp')::text", []], ['drop']]).outcomes;
    const row = (second[0] as { ok: { rows: unknown[][] } }).ok.rows[0];
    expect(row?.[0]).toEqual({ tag: 'int32', val: pidOf(first[3]) });
    expect(row?.slice(1)).toEqual([{ tag: 'str', val: '' }, { tag: 'db-null' }]);
  });

  it('two workers on their own connections at once each read their own results', async () => {
    const { bridge } = servePg();
    const steps = (who: string): PgLaneStep[] => Array.from({ length: 100 }, (_, i): PgLaneStep => ['query', 'SELECT $1::text', [{ tag: 'str', val: `${who}${i}` }]]);
    const [a, b] = await Promise.all([runWorker(bridge, steps('a')).outcomes, runWorker(bridge, steps('b')).outcomes]);
    for (const [who, outcomes] of [['a', a], ['b', b]] as const) {
      for (let i = 0; i < 100; i++) expect((outcomes[i] as { ok: { rows: unknown[][] } }).ok.rows).toEqual([[{ tag: 'str', val: `${who}${i}` }]]);
    }
  });

  it('a worker stopped while it waits for a result is stopped, and its connection closed, not pooled', async () => {
    const { service, bridge } = servePg(() => 'go');
    const { worker } = runWorker(bridge, [['post', 'blocking'], ['query', 'SELECT pg_sleep(30) AS lane_stopped', []]]);
    const sleeping = async (): Promise<number[]> => (await admin.query("SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30) AS lane_stopped%' AND pid <> pg_backend_pid()")).rows.map((r: { pid: number }) => r.pid);
    await until('the worker waits on its statement', async () => (await sleeping()).length === 1);
    const [stopped] = await sleeping();
    expect(await worker.terminate()).toBeTypeOf('number');
    await until('its handle is released', () => service.stats().held === 0 && service.stats().resetting === 0);
    // Closed, not given to the next guest (its backend sleeps on, with no client, until pg_sleep ends).
    const next = await service.open('o2', 'c', server.url);
    expect(next.ok).toBe(true);
    const pid = next.ok ? await service.query('o2', next.value, 'SELECT pg_backend_pid()', []) : undefined;
    expect(pid?.ok && pid.value.rows[0]?.[0]).toMatchObject({ tag: 'int32' });
    expect(pid?.ok && pid.value.rows[0]?.[0]).not.toEqual({ tag: 'int32', val: stopped });
    service.releaseOwner('o2');
  });
});

describe('PostgreSQL connections lent to a worker, behind a relay', () => {
  /**
   * A relay to the test's server that, once a statement with `marker` in its text has gone
   * through, adds a NoticeResponse to the server's next chunk that ends with a ReadyForQuery: bytes
   * past the last reply, read with it (as a notice or notification arriving then would be).
   */
  async function relay(marker: string): Promise<{ url: string; port: number; connections: () => number; closedByClient: () => number }> {
    let connections = 0;
    let closedByClient = 0;
    const notice = Buffer.concat([Buffer.from('N\0\0\0\0'), Buffer.from('SNOTICE\0Mpast the last reply\0\0')]);
    notice.writeInt32BE(notice.length - 1, 1);
    const tcp = createServer((client) => {
      connections++;
      let armed = false;
      const upstream = connect(server.port, '127.0.0.1');
      client.on('data', (d: Buffer) => {
        if (d.includes(marker)) armed = true;
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => {
        const endsReady = d.length >= 6 && d[d.length - 6] === 0x5a && d.readInt32BE(d.length - 5) === 5;
        if (armed && endsReady) {
          armed = false;
          client.write(Buffer.concat([d, notice]));
        } else client.write(d);
      });
      client.on('close', () => {
        closedByClient++;
        upstream.destroy();
      });
      upstream.on('close', () => client.destroy());
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => tcp.close(r)));
    const port = (tcp.address() as { port: number }).port;
    return { url: server.url.replace(`127.0.0.1:${server.port}`, `127.0.0.1:${port}`), port, connections: () => connections, closedByClient: () => closedByClient };
  }

  it('a connection on which the server sent more than the last ReadyForQuery is closed, not pooled', async () => {
    const r = await relay('lane_leftover');
    const service = createPostgresService({ allowedHosts: new Map([['c', AllowedHosts.parse([`postgres://127.0.0.1:${r.port}`])]]) });
    const { bridge } = serveOnChannel('pg', service, cleanups);
    const run = (steps: PgLaneStep[]): Promise<unknown[]> => runLaneWorker('./test-pg-lane-worker.ts', bridge, { address: r.url, steps }, cleanups).outcomes;
    const released = (): Promise<void> => until('the connection is released', () => service.stats().held === 0 && service.stats().resetting === 0);
    // Through the relay, a clean connection is pooled: the next guest gets the same backend.
    const first = await run([['query', 'SELECT pg_backend_pid()', []], ['drop']]);
    await released();
    const opened = r.connections();
    const closed = r.closedByClient();
    const second = await run([['query', 'SELECT pg_backend_pid()', []], ['query', "SELECT 'lane_leftover'::text", []], ['drop']]);
    expect(pidOf(second[0])).toEqual(pidOf(first[0]));
    // The statement's own result is whole; the notice after it is what the connection cannot be pooled with.
    expect(second[1]).toEqual({ ok: { columns: [{ name: 'text', dataType: { tag: 'str' } }], rows: [[{ tag: 'str', val: 'lane_leftover' }]] } });
    await released();
    await until('the connection is closed', () => r.closedByClient() === closed + 1);
    expect(r.connections()).toBe(opened);
    const third = await run([['query', 'SELECT pg_backend_pid()', []], ['drop']]);
    expect(r.connections()).toBeGreaterThan(opened);
    expect(pidOf(third[0])).toBeTypeOf('number');
    expect(pidOf(third[0])).not.toEqual(pidOf(first[0]));
    await released();
    await service.close();
  });
});

describe('lendable socket', () => {
  /** A LendableSocket connected to a TCP server of the test; `peer` is the server's end. */
  async function connectedPair(): Promise<{ socket: LendableSocket; peer: Socket; received: Buffer[] }> {
    const received: Buffer[] = [];
    let peer: Socket | undefined;
    const tcp = createServer((s) => {
      peer = s;
      s.on('data', (d: Buffer) => received.push(d));
      s.on('error', () => undefined); // reset when the test's socket closes with bytes unread
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => tcp.close(r)));
    const socket = new LendableSocket();
    cleanups.push(() => socket.destroy());
    await new Promise<void>((r) => socket.connect((tcp.address() as { port: number }).port, '127.0.0.1', r));
    await until('the server has the connection', () => peer !== undefined);
    return { socket, peer: peer as Socket, received };
  }

  it('writes and reads nothing once the lending ended; while lent the owner reads nothing, afterwards it reads again', async () => {
    const { socket, peer, received } = await connectedPair();
    const ownReads: Buffer[] = [];
    socket.on('data', (d: Buffer) => ownReads.push(d));
    const lending = socket.lend();
    expect(lending).toBeDefined();
    if (lending === undefined) return;
    expect(socket.lend()).toBeUndefined(); // one lending at a time
    expect(laneWrite(lending.guard, lending.fd, te.encode('lent'))).toBe(4);
    await until('the peer reads the lent write', () => Buffer.concat(received).toString() === 'lent');
    peer.write('to the worker');
    const reader = socketReader(lending.fd);
    let lentReads = '';
    await until('the lending reads it', () => {
      const read = reader.read(lending.guard, 0);
      if ('bytes' in read) lentReads += read.bytes.toString();
      return lentReads === 'to the worker';
    });
    socket.reclaim();
    expect(laneWrite(lending.guard, lending.fd, te.encode('after'))).toBeUndefined();
    peer.write('to the owner');
    await until('the owner reads it', () => ownReads.length > 0);
    expect(reader.read(lending.guard, 0)).toEqual({ ended: 'lane-closed' });
    expect(Buffer.concat(ownReads).toString()).toBe('to the owner');
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(received).toString()).toBe('lent');
  });

  it('a lent socket\'s reader waits for bytes as long as it is told, and tells the end of the stream', async () => {
    const { socket, peer } = await connectedPair();
    const lending = socket.lend();
    if (lending === undefined) throw new Error('not lent');
    const reader = socketReader(lending.fd);
    const start = performance.now();
    expect(reader.read(lending.guard, 60)).toEqual({ ended: 'timeout' });
    expect(performance.now() - start).toBeGreaterThanOrEqual(50);
    peer.end('last');
    let got = '';
    await until('the last bytes and the end arrive', () => {
      const read = reader.read(lending.guard, 0);
      if ('bytes' in read) got += read.bytes.toString();
      return 'ended' in read && read.ended === 'eof';
    });
    expect(got).toBe('last');
  });
});
