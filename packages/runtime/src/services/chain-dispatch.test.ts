import { describe, expect, it } from 'vitest';
import type { GuestRequest } from '../pool/executor-types.js';
import { createChainDispatch } from './chain-dispatch.js';

describe('service chaining dispatch', () => {
  it('hands the component Spin\'s headers for a synthetic /... route and drops forged ones', async () => {
    const seen: Array<[string, GuestRequest]> = [];
    const dispatch = createChainDispatch(async (id, request) => {
      seen.push([id, request]);
      return { status: 204, headers: [], body: (async function* () {})() };
    });
    const res = await dispatch(
      'backend',
      {
        method: 'GET',
        url: 'http://backend.spin.internal/api/items?x=1',
        headers: [
          ['host', 'backend.spin.internal'],
          ['spin-client-addr', '6.6.6.6:66'],
          ['x-keep', 'yes'],
        ],
        body: (async function* () {})(),
      },
      undefined,
    );
    expect(res.status).toBe(204);
    const [id, request] = seen[0] ?? [];
    expect(id).toBe('backend');
    const headers = Object.fromEntries(request?.headers ?? []);
    expect(headers).toMatchObject({
      'x-keep': 'yes',
      'spin-path-info': '/api/items',
      'spin-matched-route': '/...',
      'spin-client-addr': '0.0.0.0:0',
      'spin-full-url': 'http://backend.spin.internal/api/items?x=1',
    });
    expect(headers['host']).toBeUndefined();
    expect(request?.headers.filter(([n]) => n === 'spin-client-addr')).toHaveLength(1);
  });
});
