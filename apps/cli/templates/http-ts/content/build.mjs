// Builds this app's WebAssembly component (run by `npm run build`, which `spinel build` runs):
// bundles the handler and everything it imports into one file with esbuild, then compiles that
// file into a component with componentize-js, against wit/ plus the WASI interfaces jco ships.
// Usage: node build.mjs <entry> <output.wasm>
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire, register } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [entry = 'src/index.ts', output = 'dist/component.wasm'] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
// The WASI version the JavaScript engine in componentize-js 0.23 is built against.
const WASI_VERSION = '0.2.10';
const started = Date.now();

// componentize-js loads weval, which loads @napi-rs/lzma at import time; its native binding
// needs Node 22.20 or newer. It is only used for ahead-of-time builds, which this one is not.
register(
  `data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      if (specifier === '@napi-rs/lzma/xz' && !process.versions.node.match(/^(2[2-9]|[3-9]\\d)\\./)) {
        return { shortCircuit: true, url: 'data:text/javascript,export default { decompress() { throw new Error("xz is unavailable on this Node version") } }' };
      }
      return next(specifier, context);
    }`)}`,
);

/** A dependency's directory (some export no `./package.json`). */
function packageDir(name) {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).name === name) return dir;
  }
  throw new Error(`Cannot find ${name}: run npm install first.`);
}

const buildDir = join(here, 'build');
await rm(buildDir, { recursive: true, force: true });
await mkdir(buildDir, { recursive: true });

// 1. One ES module with every import inlined, except the host interfaces (wasi:*, fermyon:*).
const { build } = await import('esbuild');
const bundle = join(buildDir, 'bundle.js');
await build({
  entryPoints: [resolve(here, entry)],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  mainFields: ['module', 'main'],
  external: ['wasi:*', 'fermyon:*'],
  outfile: bundle,
  logLevel: 'warning',
});

// 2. The WIT: this app's world and Spin's interfaces from wit/, WASI from jco's copy.
const wit = join(buildDir, 'wit');
await cp(join(here, 'wit'), wit, { recursive: true });
const jcoWit = join(packageDir('@bytecodealliance/jco'), 'lib', 'wit', 'builtin', '0.2.12');
for (const pkg of await readdir(jcoWit)) {
  await mkdir(join(wit, 'deps', pkg), { recursive: true });
  const text = await readFile(join(jcoWit, pkg, 'package.wit'), 'utf8');
  // WASI 0.2.x interfaces only grow, so the 0.2.12 definitions serve for the engine's version.
  await writeFile(join(wit, 'deps', pkg, 'package.wit'), text.replaceAll('@0.2.12', `@${WASI_VERSION}`));
}

// 3. The component.
const componentizeEntry = await realpath(fileURLToPath(import.meta.resolve('@bytecodealliance/componentize-js')));
// componentize-js reads the WIT through preview2-shim, which sees no files unless preopened.
const shim = await import(pathToFileURL(createRequire(componentizeEntry).resolve('@bytecodealliance/preview2-shim/filesystem')).href);
shim._setPreopens?.({ '/': '/' });
const { componentize } = await import(pathToFileURL(componentizeEntry).href);
const { component } = await componentize({ sourcePath: bundle, witPath: wit, worldName: 'app' });
const out = resolve(here, output);
await mkdir(dirname(out), { recursive: true });
await writeFile(out, component);
const size = (await stat(out)).size;
console.log(`Built ${output} (${(size / 1024 / 1024).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
