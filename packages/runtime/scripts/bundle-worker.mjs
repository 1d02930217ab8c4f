// Bundles what a worker thread loads (part of `pnpm build`, after tsc): a worker used to read,
// resolve and compile about 30 modules of dist/guest/ before it could take its components, and
// the outbound HTTP capability's guest module brought in all of @spinel/manifest (about 60 ms of
// a worker's CPU) for two functions the worker never calls. Here dist/guest/worker-entry.js and
// every module a worker loads by URL (the capabilities' guest modules, WAGI's runner: each
// `new URL('….js', import.meta.url)` naming a file under dist/guest/) become entry points of one
// esbuild run with code splitting: each is written back at its own path, so the URLs the pool
// and the capabilities hold keep working, and the code they share sits in chunks under
// dist/guest/chunks/, loaded once per worker (one copy of each class, so `instanceof` across
// them holds). @spinel/manifest is bundled in and tree-shaken (nothing of it reaches a worker
// today: the build fails if any of it is left as an import); other packages stay imports.
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
const guest = join(dist, 'guest');
const MARK = '// spinel: bundled worker module (scripts/bundle-worker.mjs)';
/** Packages bundled into the worker's files instead of imported (tree-shaken to what runs there). */
const INLINED = new Set(['@spinel/manifest']);

const requireHere = createRequire(join(root, 'package.json'));
const inlinedDirs = [...INLINED].map((name) => realpathSync(dirname(requireHere.resolve(`${name}/package.json`))) + sep);
const RESOLVING = Symbol('resolving');

/** Resolves an import of an inlined package as esbuild would, marked free of side effects. */
async function inlined(b, args) {
  const found = await b.resolve(args.path, { importer: args.importer, resolveDir: args.resolveDir, kind: args.kind, pluginData: RESOLVING });
  if (found.errors.length > 0) return { errors: found.errors };
  return { path: found.path, sideEffects: false };
}

const entry = join(guest, 'worker-entry.js');
if (readFileSync(entry, 'utf8').startsWith(MARK)) {
  // Bundling a bundle would keep stale chunks beside it: tsc must have written dist/ first.
  console.error('bundle-worker: dist/guest/worker-entry.js is already bundled; run tsc (pnpm build) first.');
  process.exit(1);
}

/** Every file under `dir`. */
function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

// The modules loaded by URL: `new URL('<relative>.js', import.meta.url)` in any compiled file,
// resolved from that file, kept when they are under dist/guest/.
const URL_REF = /new URL\((['"])(\.{1,2}\/[^'"]+\.js)\1, import\.meta\.url\)/g;
const entries = new Set([entry]);
for (const file of filesUnder(dist)) {
  if (!file.endsWith('.js') || file.startsWith(join(dist, 'bundle') + sep)) continue;
  for (const m of readFileSync(file, 'utf8').matchAll(URL_REF)) {
    const target = resolve(dirname(file), m[2]);
    if (target.startsWith(guest + sep) && existsSync(target)) entries.add(target);
  }
}

const out = join(dist, '.worker-bundle');
rmSync(out, { recursive: true, force: true });
const result = await build({
  entryPoints: [...entries].sort(),
  outbase: guest,
  outdir: out,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  banner: { js: MARK },
  metafile: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'packages-external',
      setup(b) {
        // Bare imports stay imports (like `packages: 'external'`), except the inlined packages.
        b.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (args.pluginData === RESOLVING) return undefined;
          const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
          if (!INLINED.has(name)) return { path: args.path, external: true };
          return inlined(b, args);
        });
        // Their own modules: their exports are plain declarations (no import has side effects),
        // so esbuild may drop every module of theirs that the worker's code does not reach.
        b.onResolve({ filter: /^\./ }, async (args) => (args.pluginData !== RESOLVING && inlinedDirs.some((d) => args.importer.startsWith(d)) ? inlined(b, args) : undefined));
      },
    },
  ],
});

// Nothing inlined may be left as an import, and a URL a bundled file names must still resolve.
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  for (const imported of output.imports) {
    if (imported.external && [...INLINED].some((p) => imported.path === p || imported.path.startsWith(`${p}/`))) {
      throw new Error(`bundle-worker: ${file} still imports ${imported.path}`);
    }
  }
}

// Written back over tsc's output at the same paths (a leftover chunks/ directory goes first).
rmSync(join(guest, 'chunks'), { recursive: true, force: true });
for (const file of filesUnder(out)) {
  const target = join(guest, relative(out, file));
  mkdirSync(dirname(target), { recursive: true });
  renameSync(file, target);
}
rmSync(out, { recursive: true, force: true });
for (const file of entries) {
  for (const m of readFileSync(file, 'utf8').matchAll(URL_REF)) {
    if (!existsSync(resolve(dirname(file), m[2]))) throw new Error(`bundle-worker: ${relative(dist, file)} names ${m[2]}, which is not in dist/guest/`);
  }
}
