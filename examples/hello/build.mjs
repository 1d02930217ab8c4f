// Builds dist/hello.wasm from src/hello.js with componentize-js (about 10 s).
// Run by `spinel up --build` through [component.hello.build], or directly: `node build.mjs`
// (`node build.mjs --if-stale` skips the build when dist/hello.wasm is current).
import { mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// The WASI version StarlingMonkey (componentize-js 0.23) is built against; jco ships its WIT.
const WASI_VERSION = '0.2.10';

// componentize-js loads weval, which loads @napi-rs/lzma at import time; its native
// binding needs Node >= 22.20. It is only used to download weval for AOT builds, which
// this build does not do, so on older Node it is replaced by a module that refuses.
register(
  `data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      if (specifier === '@napi-rs/lzma/xz' && !process.versions.node.match(/^(2[2-9]|[3-9]\\d)\\./)) {
        return { shortCircuit: true, url: 'data:text/javascript,export default { decompress() { throw new Error("xz is unavailable on this Node version") } }' };
      }
      return next(specifier, context);
    }`)}`,
);

async function loadComponentize() {
  try {
    return await import('@bytecodealliance/componentize-js');
  } catch {
    // Inside the spinel repository the package is installed for the workspace's test utilities.
    const dir = join(here, '..', '..', 'tooling', 'test-utils', 'node_modules', '@bytecodealliance', 'componentize-js');
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    return await import(pathToFileURL(join(dir, pkg.exports.import)).href);
  }
}

/**
 * componentize-js runs its WIT reader under preview2-shim, whose newer releases give a
 * guest no filesystem unless told; let it see the files it has to read.
 */
async function openFilesystemForComponentize() {
  let entry;
  try {
    entry = fileURLToPath(import.meta.resolve('@bytecodealliance/componentize-js'));
  } catch {
    entry = join(here, '..', '..', 'tooling', 'test-utils', 'node_modules', '@bytecodealliance', 'componentize-js', 'src', 'componentize.js');
  }
  entry = await realpath(entry);
  const shimPath = createRequire(entry).resolve('@bytecodealliance/preview2-shim/filesystem');
  const shim = await import(pathToFileURL(shimPath).href);
  shim._setPreopens?.({ '/': '/' });
}

/**
 * A WIT directory for the component's world, made at build time from the WASI 0.2 WIT
 * packages that jco ships (nothing third-party is kept in this example).
 */
async function witDir() {
  const jcoWit = join(here, '..', '..', 'tooling', 'test-utils', 'node_modules', '@bytecodealliance', 'jco', 'lib', 'wit', 'builtin', '0.2.12');
  // Inside this directory: componentize-js reads WIT through a sandbox that sees the working tree only.
  const dir = join(here, '.wit');
  await rm(dir, { recursive: true, force: true });
  for (const pkg of await readdir(jcoWit)) {
    await mkdir(join(dir, 'deps', pkg), { recursive: true });
    const text = await readFile(join(jcoWit, pkg, 'package.wit'), 'utf8');
    // jco ships the full WASI set at 0.2.12; the 0.2.x interfaces only grow, so it is relabelled.
    await writeFile(join(dir, 'deps', pkg, 'package.wit'), text.replaceAll('@0.2.12', `@${WASI_VERSION}`));
  }
  await writeFile(
    join(dir, 'world.wit'),
    ['package spinel:hello;', '', 'world hello {', `  export wasi:http/incoming-handler@${WASI_VERSION};`, '}', ''].join('\n'),
  );
  return dir;
}

// `--if-stale` (for setup scripts): do nothing when dist/hello.wasm is newer than its sources.
if (process.argv.includes('--if-stale')) {
  const built = await stat(join(here, 'dist', 'hello.wasm')).catch(() => undefined);
  const sources = await Promise.all([join(here, 'src', 'hello.js'), fileURLToPath(import.meta.url)].map((p) => stat(p)));
  if (built !== undefined && sources.every((s) => s.mtimeMs <= built.mtimeMs)) {
    console.log('dist/hello.wasm is up to date');
    process.exit(0);
  }
}

const { componentize } = await loadComponentize();
await openFilesystemForComponentize();
const wit = await witDir();
const { component } = await componentize({
  sourcePath: join(here, 'src', 'hello.js'),
  witPath: wit,
  worldName: 'hello',
});
await rm(wit, { recursive: true, force: true });
await mkdir(join(here, 'dist'), { recursive: true });
await writeFile(join(here, 'dist', 'hello.wasm'), component);
console.log(`built dist/hello.wasm (${component.length} bytes)`);
