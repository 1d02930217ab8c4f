// A load generator run as its own process so it does not share a core's event loop with
// the server under test: keep-alive connections, fixed duration, counts answers.
// Usage: node load-client.mjs <url> <connections> <durationMs>
import { Pool } from 'undici';

const [url, connections = '16', duration = '4000'] = process.argv.slice(2);
const target = new URL(url);
const pool = new Pool(target.origin, { connections: Number(connections), pipelining: 1 });
const end = Date.now() + Number(duration);
let ok = 0;
let failed = 0;
async function worker() {
  while (Date.now() < end) {
    try {
      const res = await pool.request({ path: target.pathname + target.search, method: 'GET' });
      await res.body.arrayBuffer();
      if (res.statusCode === 200) ok++;
      else failed++;
    } catch {
      failed++;
    }
  }
}
const started = Date.now();
await Promise.all(Array.from({ length: Number(connections) }, worker));
const seconds = (Date.now() - started) / 1000;
await pool.close();
process.stdout.write(JSON.stringify({ ok, failed, rps: ok / seconds }));
