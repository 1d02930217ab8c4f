// Builds the Wasm components the built-in templates ship (part of `pnpm build` for the CLI):
// components/<id>/index.js → templates/<id>/content/<id>.wasm with componentize-js, skipped when
// the source, its world and the tool versions are unchanged; then records a digest of every
// built-in template file in dist/builtin-templates.json, so `spinel` knows when the templates
// installed in a user's data directory are older than the ones it carries.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createRequire, register } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cliRoot = dirname(here);
// StarlingMonkey in componentize-js 0.23 is built against WASI 0.2.10; jco ships the WIT.
const WASI_VERSION = '0.2.10';

const COMPONENTS = {
  'static-fileserver': ['wasi:cli/environment', 'wasi:filesystem/preopens', 'wasi:filesystem/types'],
  redirect: ['wasi:cli/environment'],
};

// componentize-js loads weval, which loads @napi-rs/lzma at import time; its native binding
// needs Node >= 22.20. It only downloads weval for AOT builds, which this build does not do.
register(
  `data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      if (specifier === '@napi-rs/lzma/xz' && !process.versions.node.match(/^(2[2-9]|[3-9]\\d)\\./)) {
        return { shortCircuit: true, url: 'data:text/javascript,export default { decompress() { throw new Error("xz is unavailable on this Node version") } }' };
      }
      return next(specifier, context);
    }`)}`,
);

/** A dependency's directory (these packages export no `./package.json`). */
function packageDir(name) {
  for (let dir = dirname(fileURLToPath(import.meta.resolve(name))); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).name === name) return dir;
  }
  throw new Error(`cannot find the directory of ${name}`);
}

async function version(name) {
  return JSON.parse(await readFile(join(packageDir(name), 'package.json'), 'utf8')).version;
}

async function witDir(id) {
  const jcoWit = join(packageDir('@bytecodealliance/jco'), 'lib', 'wit', 'builtin', '0.2.12');
  const dir = join(cliRoot, 'node_modules', '.cache', 'spinel-components', `wit-${id}`);
  await rm(dir, { recursive: true, force: true });
  for (const pkg of await readdir(jcoWit)) {
    await mkdir(join(dir, 'deps', pkg), { recursive: true });
    const text = await readFile(join(jcoWit, pkg, 'package.wit'), 'utf8');
    // The WASI 0.2.x interfaces only grow, so jco's 0.2.12 set is relabelled to the engine's version.
    await writeFile(join(dir, 'deps', pkg, 'package.wit'), text.replaceAll('@0.2.12', `@${WASI_VERSION}`));
  }
  const imports = COMPONENTS[id].map((i) => `  import ${i}@${WASI_VERSION};`);
  await writeFile(join(dir, 'world.wit'), [`package spinel:${id};`, '', `world ${id} {`, ...imports, `  export wasi:http/incoming-handler@${WASI_VERSION};`, '}', ''].join('\n'));
  return dir;
}

function paths(id) {
  return {
    source: join(cliRoot, 'components', id, 'index.js'),
    out: join(cliRoot, 'templates', id, 'content', `${id}.wasm`),
    stamp: join(cliRoot, 'node_modules', '.cache', 'spinel-components', `${id}.key`),
  };
}

/** The build key of a component: its source, its imports and the tool versions. */
async function buildKey(id) {
  return createHash('sha256')
    .update(await readFile(paths(id).source))
    .update(JSON.stringify(COMPONENTS[id]))
    .update(`${await version('@bytecodealliance/componentize-js')}/${await version('@bytecodealliance/jco')}/${WASI_VERSION}`)
    .digest('hex');
}

async function isCurrent(id) {
  const { out, stamp } = paths(id);
  return existsSync(out) && existsSync(stamp) && (await readFile(stamp, 'utf8')) === (await buildKey(id));
}

async function loadComponentize() {
  const entry = await realpath(fileURLToPath(import.meta.resolve('@bytecodealliance/componentize-js')));
  // componentize-js reads WIT through preview2-shim, which sees no filesystem unless preopened.
  const shim = await import(pathToFileURL(createRequire(entry).resolve('@bytecodealliance/preview2-shim/filesystem')).href);
  shim._setPreopens?.({ '/': '/' });
  return (await import(pathToFileURL(entry).href)).componentize;
}

async function build(id, componentize) {
  const { source, out, stamp } = paths(id);
  const wit = await witDir(id);
  const { component } = await componentize({ sourcePath: source, witPath: wit, worldName: id });
  await rm(wit, { recursive: true, force: true });
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, component);
  await mkdir(dirname(stamp), { recursive: true });
  await writeFile(stamp, await buildKey(id));
}

async function listFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

let componentize;
for (const id of Object.keys(COMPONENTS)) {
  if (await isCurrent(id)) continue;
  // The tool is slow to load: only when something needs building.
  componentize ??= await loadComponentize();
  const started = Date.now();
  await build(id, componentize);
  console.log(`built templates/${id}/content/${id}.wasm in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const digest = createHash('sha256');
const templatesRoot = join(cliRoot, 'templates');
for (const file of await listFiles(templatesRoot)) {
  digest.update(relative(templatesRoot, file)).update('\0').update(await readFile(file)).update('\0');
}
await mkdir(join(cliRoot, 'dist'), { recursive: true });
await writeFile(join(cliRoot, 'dist', 'builtin-templates.json'), `${JSON.stringify({ digest: digest.digest('hex') })}\n`);
