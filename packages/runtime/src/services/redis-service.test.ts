import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { startRedis, type RedisServer } from '@spinel/test-utils';
import { parseBlockNetworks } from './block-networks.js';
import { LimitedSemaphore } from './connection-limit.js';
import { RespConnection } from './resp-connection.js';
import { createRedisService } from './redis-service.js';

let redis: RedisServer;
let secured: RedisServer;
const te = new TextEncoder();

beforeAll(async () => {
  [redis, secured] = await Promise.all([startRedis(), startRedis()]);
  const admin = await RespConnection.connect({ address: '127.0.0.1', port: secured.port });
  await admin.command(['ACL', 'SETUSER', 'app', 'on', '>s3cret-pw', '~*', '+@all']);
  await admin.command(['CONFIG', 'SET', 'requirepass', 'root-pw']);
  admin.close();
});
afterAll(async () => {
  await Promise.all([redis?.stop(), secured?.stop()]);
});

const allow = (...entries: string[]) => new Map([['c', AllowedHosts.parse(entries)]]);

describe('redis service', () => {
  it('round-trips every operation against a real redis-server', async () => {
    const service = createRedisService({ allowedHosts: allow(`redis://127.0.0.1:${redis.port}`) });
    const opened = await service.open('w1', 'c', redis.url);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    const h = opened.value;
    expect(await service.set('w1', h, 'k', new Uint8Array([0, 255, 1]))).toEqual({ ok: true, value: undefined });
    expect(await service.get('w1', h, 'k')).toEqual({ ok: true, value: new Uint8Array([0, 255, 1]) });
    expect(await service.get('w1', h, 'absent')).toEqual({ ok: true, value: undefined });
    expect(await service.incr('w1', h, 'n')).toEqual({ ok: true, value: 1n });
    await service.execute('w1', h, 'SET', [{ tag: 'binary', val: te.encode('big') }, { tag: 'int64', val: 9007199254740993n }]);
    expect(await service.incr('w1', h, 'big')).toEqual({ ok: true, value: 9007199254740994n });
    expect(await service.sadd('w1', h, 's', ['a', 'b', 'a'])).toEqual({ ok: true, value: 2 });
    const members = await service.smembers('w1', h, 's');
    expect(members.ok && [...members.value].sort()).toEqual(['a', 'b']);
    expect(await service.srem('w1', h, 's', ['a', 'z'])).toEqual({ ok: true, value: 1 });
    expect(await service.incr('w1', h, 's')).toEqual({ ok: false, error: { tag: 'type-error' } });
    expect(await service.del('w1', h, ['k', 'n', 'nothing'])).toEqual({ ok: true, value: 2 });
    expect(await service.publish('w1', h, 'chan', te.encode('hi'))).toEqual({ ok: true, value: undefined });
    // execute keeps status replies apart from bulk strings, flattens arrays, maps nil.
    expect(await service.execute('w1', h, 'SET', [{ tag: 'binary', val: te.encode('x') }, { tag: 'binary', val: te.encode('OK') }])).toEqual({
      ok: true,
      value: [{ tag: 'status', val: 'OK' }],
    });
    expect(await service.execute('w1', h, 'MGET', [{ tag: 'binary', val: te.encode('x') }, { tag: 'binary', val: te.encode('nope') }])).toEqual({
      ok: true,
      value: [{ tag: 'binary', val: te.encode('OK') }, { tag: 'nil' }],
    });
    expect(await service.execute('w1', h, 'INCRBY', [{ tag: 'binary', val: te.encode('i') }, { tag: 'int64', val: -5n }])).toEqual({ ok: true, value: [{ tag: 'int64', val: -5n }] });
    const bad = await service.execute('w1', h, 'NOSUCHCOMMAND', []);
    expect(bad.ok === false && bad.error.tag === 'other' && bad.error.val).toMatch(/unknown command/);
    service.drop('w1', h);
    expect(service.stats()).toEqual({ held: 0, idle: 1 });
    await service.close();
  });

  it('refuses an unlisted host before connecting, and names it on the denied channel without credentials', async () => {
    const service = createRedisService({ allowedHosts: allow('redis://example.com') });
    const seen: unknown[] = [];
    const listener = (m: unknown): void => void seen.push(m);
    subscribe('spinel:runtime:outbound-denied', listener);
    try {
      expect(await service.open('w', 'c', `redis://user:hunter2@127.0.0.1:${redis.port}`)).toEqual({ ok: false, error: { tag: 'invalid-address' } });
      expect(await service.open('w', 'c', 'not a url')).toEqual({ ok: false, error: { tag: 'invalid-address' } });
      expect(await service.open('w', 'other-component', `redis://example.com`)).toEqual({ ok: false, error: { tag: 'invalid-address' } });
    } finally {
      unsubscribe('spinel:runtime:outbound-denied', listener);
    }
    expect(JSON.stringify(seen)).not.toContain('hunter2');
    expect(seen[0]).toMatchObject({ componentId: 'c', destination: `redis://127.0.0.1:${redis.port}` });
    expect((seen[0] as { hint: string }).hint).toContain(`allowed_outbound_hosts = ["redis://127.0.0.1:${redis.port}"]`);
    expect(service.stats()).toEqual({ held: 0, idle: 0 });
  });

  it('refuses an allowed host whose address is in a blocked network', async () => {
    const service = createRedisService({ allowedHosts: allow('redis://*:*'), blockNetworks: parseBlockNetworks(['127.0.0.0/8']) });
    const r = await service.open('w', 'c', redis.url);
    expect(r.ok === false && r.error.tag === 'other' && r.error.val).toMatch(/blocked network/);
  });

  it('gives a wrong password as the interface error, with no credentials in it or in the allowed events', async () => {
    const app = { name: 'the app these connections belong to' };
    const service = createRedisService({ allowedHosts: allow('redis://127.0.0.1:*'), app });
    const allowed: unknown[] = [];
    const listener = (m: unknown): void => void allowed.push(m);
    subscribe('spinel:runtime:outbound-allowed', listener);
    try {
      const wrong = await service.open('w', 'c', `redis://app:wrong-pw@127.0.0.1:${secured.port}`);
      expect(wrong.ok).toBe(false);
      expect(JSON.stringify(wrong)).toMatch(/WRONGPASS/);
      expect(JSON.stringify(wrong)).not.toContain('wrong-pw');
      const right = await service.open('w', 'c', `redis://app:s3cret-pw@127.0.0.1:${secured.port}`);
      expect(right.ok).toBe(true);
    } finally {
      unsubscribe('spinel:runtime:outbound-allowed', listener);
    }
    expect(allowed).toEqual([
      { app, componentId: 'c', destination: `redis://127.0.0.1:${secured.port}` },
      { app, componentId: 'c', destination: `redis://127.0.0.1:${secured.port}` },
    ]);
    await service.close();
  });

  it('holds guests to max_connections and the global limit, waiting as Spin does', async () => {
    const service = createRedisService({ allowedHosts: allow('redis://127.0.0.1:*'), maxConnections: 1, globalLimit: new LimitedSemaphore(5) });
    const first = await service.open('w', 'c', redis.url);
    let second: unknown;
    const pending = service.open('w', 'c', redis.url).then((r) => (second = r));
    await new Promise((r) => setTimeout(r, 100));
    expect(second).toBeUndefined();
    if (first.ok) service.drop('w', first.value);
    await pending;
    expect((second as { ok: boolean }).ok).toBe(true);
    // A waiter whose call is cancelled gives up.
    const controller = new AbortController();
    const third = service.open('w', 'c', redis.url, controller.signal);
    controller.abort();
    expect(await third).toEqual({ ok: false, error: { tag: 'too-many-connections' } });
    service.releaseOwner('w');
    expect(service.stats().held).toBe(0);
    await service.close();
  });

  it('never pools a connection whose session state a guest changed, and keeps handles to their owner', async () => {
    const service = createRedisService({ allowedHosts: allow('redis://127.0.0.1:*') });
    const a = await service.open('w', 'c', redis.url);
    if (!a.ok) throw new Error('open failed');
    await service.execute('w', a.value, 'SELECT', [{ tag: 'int64', val: 3n }]);
    expect(await service.get('other-worker', a.value, 'k')).toEqual({ ok: false, error: { tag: 'other', val: 'could not find connection for resource' } });
    service.drop('w', a.value);
    expect(service.stats()).toEqual({ held: 0, idle: 0 });
    await service.close();
  });
});
