// Spinel's redirect component (the `redirect` template's): answers every request with a
// redirect to DESTINATION, using STATUSCODE (301, 302, 303, 307 or 308; default 302), the
// environment variables Spin's redirect component reads.
import { getEnvironment } from 'wasi:cli/environment@0.2.10';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

addEventListener('fetch', (event) => event.respondWith(handle()));

function handle() {
  const env = new Map(getEnvironment());
  const destination = env.get('DESTINATION');
  if (destination === undefined || destination === '') {
    return new Response('This redirect has no DESTINATION: set it in the component\'s environment.\n', { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }
  const requested = Number(env.get('STATUSCODE') ?? '302');
  const status = REDIRECT_STATUSES.has(requested) ? requested : 302;
  return new Response(null, { status, headers: { location: destination } });
}
