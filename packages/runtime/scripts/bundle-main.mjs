// Bundles what a host's main thread imports (part of `pnpm build`): dist/index.js and the ~100
// modules it reaches become dist/bundle/index.js, so `import('@spinel/runtime')` resolves, reads
// and compiles one file instead of a hundred (about 60 ms less CPU at every `spinel up`). Other
// packages stay external, and modules the main thread loads on first use (undici, pg, mysql2,
// mqtt, better-sqlite3, ioredis through load-on-first-use.ts) are still loaded only then.
// Worker threads load dist/guest/worker-entry.js and the capabilities' guest modules by URL
// (bundled by bundle-worker.mjs, which runs after this one). dist/bundle/ sits one level under
// dist/ like dist/services/ and dist/pool/, so the `new URL('../guest/…', import.meta.url)` those
// name resolve as before.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
await build({
  entryPoints: { index: join(root, 'dist', 'index.js') },
  outdir: join(root, 'dist', 'bundle'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Every bare import (other packages, Node's modules) stays an import.
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
