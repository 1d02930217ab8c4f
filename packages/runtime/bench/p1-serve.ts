/**
 * P1's server for the `serveFromWorkers` mode (bench/http.ts starts it as its own process, as
 * `spinel up` would run it once it has a flag for the mode): runApp from the built package, the
 * options `spinel up -f <dir>` gives it (a manifest, guest output logged to a directory), plus
 * `serveFromWorkers`. Arguments: the app directory, the port, then `workers` or `main`.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Runtime from '../src/index.js';

const [dir, port, mode] = process.argv.slice(2);
if (dir === undefined || port === undefined) throw new Error('usage: p1-serve <app dir> <port> [workers|main]');
const dist = new URL('../dist/index.js', import.meta.url);
const runtime = (await import(pathToFileURL(dist.pathname).href)) as typeof Runtime;
const running = await runtime.runApp({
  manifestPath: join(dir, 'spin.toml'),
  listen: `127.0.0.1:${port}`,
  logDir: join(dir, '.spin', 'logs'),
  serveFromWorkers: mode !== 'main',
});
process.on('SIGTERM', () => void running.close(1000).then(() => process.exit(0)));
