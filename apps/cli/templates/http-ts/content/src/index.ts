import { openKv, serve, variable } from './spin.js';

// Each request gets a fresh instance of this component: keep state in a key-value store.
serve((request) => {
  const path = request.headers.get('spin-path-info') ?? new URL(request.url).pathname;
  if (path === '/count') {
    const kv = openKv();
    const count = (kv.getJson<number>('count') ?? 0) + 1;
    kv.setJson('count', count);
    return new Response(`${JSON.stringify({ count })}\n`, { headers: { 'content-type': 'application/json' } });
  }
  return new Response(`${variable('greeting')} from {{project-name | kebab_case}}!\n`, {
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
});
