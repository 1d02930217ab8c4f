// Bundles the CLI for a fast start (part of `pnpm build`): src/main.ts (oclif and the error
// boundary) and src/lazy-commands.ts become dist/bundle/, with each command in its own chunk
// loaded only when it runs. @oclif/core is bundled in (a few files instead of a hundred
// modules to resolve at every start); every other dependency stays external and is imported
// by the command that needs it. Also writes oclif.manifest.json from the real command classes
// (ids, flags, help), so oclif lists and parses nothing else at start.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// Node modules oclif requires when it loads but uses only on some paths (timing marks, reading a
// flag's value from stdin, a shell lookup): each is replaced by a stand-in that loads the real
// module on first use. perf_hooks alone costs about as much as the rest of oclif's start.
const LAZY_BUILTINS = ['node:perf_hooks', 'node:readline', 'node:child_process'];
// Packages oclif requires when it loads but calls only on some paths: globbing commands (we list
// them in the manifest; tinyglobby also resolves and loads picomatch from disk when it loads),
// templates of plugin update URLs, spinners, help layout, config files of plugins, stack
// cleaning. Bundled as before, but each module runs on first use instead of at every start.
const LAZY_PACKAGES = ['tinyglobby', 'ejs', 'cli-spinners', 'minimatch', 'lilconfig', 'clean-stack', 'wrap-ansi', 'widest-line', 'string-width', 'indent-string'];

/** A CommonJS stand-in whose every use loads `target` (a require() specifier) first. */
function lazyModule(target, esModule) {
  return `let real;
const load = () => (real ??= require(${JSON.stringify(target)}));
module.exports = new Proxy(function () {}, {
  get: (_, key) => (key === '__esModule' ? ${JSON.stringify(esModule)} : load()[key]),
  has: (_, key) => key in load(),
  apply: (_, self, args) => load().apply(self, args),
  construct: (_, args, target) => Reflect.construct(load(), args, target),
});`;
}

// oclif's logger makes a `debug` function per namespace when a command starts, and debug reads
// DEBUG once, when it loads, to decide which namespaces print: without DEBUG none does, so a
// do-nothing factory stands in (debug itself, with its colour and terminal detection, loads
// only when DEBUG is set, as `DEBUG=oclif:* spinel ...` still works).
const DEBUG_STAND_IN = `const quiet = (namespace) => Object.assign(() => {}, { namespace, enabled: false, extend: (ns, d = ':') => quiet(namespace + d + ns), log: () => {}, destroy: () => true });
module.exports = process.env.DEBUG ? require('lazy-real:debug') : Object.assign(quiet, { enable() {}, disable: () => '', enabled: () => false });`;

const lazyRequires = {
  name: 'lazy-requires',
  setup(b) {
    const builtins = new RegExp(`^(${LAZY_BUILTINS.join('|')})$`);
    const packages = new RegExp(`^(${[...LAZY_PACKAGES, 'debug'].join('|')})$`);
    const fromOclif = (args) => args.importer.includes('/@oclif/core/');
    b.onResolve({ filter: builtins }, (args) => (fromOclif(args) ? { path: args.path, namespace: 'lazy-builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ loader: 'js', contents: lazyModule(args.path, undefined) }));
    b.onResolve({ filter: packages }, (args) =>
      fromOclif(args) ? { path: args.path, namespace: 'lazy-package', pluginData: { importer: args.importer, resolveDir: args.resolveDir } } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-package' }, ({ path: name, pluginData }) => {
      if (name === 'debug') return { loader: 'js', contents: DEBUG_STAND_IN, resolveDir: pluginData.resolveDir };
      // Whether the real module marks itself as an ES module decides how oclif's interop reads it.
      const esModule = createRequire(pluginData.importer)(name).__esModule === true;
      return { loader: 'js', contents: lazyModule(`lazy-real:${name}`, esModule), resolveDir: pluginData.resolveDir };
    });
    // The real module, bundled where it was (esbuild makes its require() a call run on first use).
    b.onResolve({ filter: /^lazy-real:/ }, (args) => b.resolve(args.path.slice('lazy-real:'.length), { kind: 'require-call', resolveDir: args.resolveDir }));
  },
};

// oclif sorts the commands it reads from the manifest with localeCompare at every start; the
// first localeCompare in a process builds ICU's collator, about 15 ms, as much as a fifth of
// `node -e 0`. Command ids are lower-case letters, digits, ':' and '-', which ICU's root
// collation orders as their code units do (checked against the manifest below), so the bundled
// oclif compares code units instead. The build fails if oclif's line changes.
const LOCALE_SORT = '.sort((a, b) => a.id.localeCompare(b.id))';
const CODE_UNIT_SORT = '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))';
const noCollator = {
  name: 'no-collator',
  setup(b) {
    b.onLoad({ filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(LOCALE_SORT)) throw new Error(`${args.path} no longer sorts commands with ${LOCALE_SORT}: update scripts/bundle.mjs`);
      return { loader: 'js', contents: source.replace(LOCALE_SORT, CODE_UNIT_SORT) };
    });
  },
};

// Pure helpers of a library that a command needs before anything else of it, bundled into the
// command's chunk (tree-shaken: only what the importing file uses) instead of importing the
// whole library: \`spinel cache dir\` needs defaultCacheRoot() alone, where importing
// @spinel/cache reads, resolves and compiles 17 modules and loads node:crypto (about 30 ms of
// CPU, a third of \`node -e 0\`). Only stateless functions belong here: a class or an error
// bundled twice would not be the one the libraries' own copies throw or check.
const BUNDLED_HELPERS = [{ importer: join('src', 'cache-root.ts'), library: '@spinel/cache' }];
const bundledHelpers = {
  name: 'bundled-helpers',
  setup(b) {
    const inside = new Map();
    for (const { importer, library } of BUNDLED_HELPERS) {
      b.onResolve({ filter: new RegExp(`^${library.replace('/', '\\/')}$`) }, (args) => {
        if (!args.importer.endsWith(importer)) return undefined;
        const entry = createRequire(args.importer).resolve(library);
        inside.set(dirname(entry), library);
        return { path: entry, sideEffects: false };
      });
    }
    // The library's own modules, reached from its entry: nothing in them runs for what is not used.
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const dir = [...inside.keys()].find((d) => args.importer.startsWith(d));
      return dir === undefined ? undefined : { path: join(args.resolveDir, args.path), sideEffects: false };
    });
  },
};

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pjson = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const outdir = join(root, 'dist', 'bundle');
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: {
    main: join(root, 'src', 'main.ts'),
    'lazy-commands': join(root, 'src', 'lazy-commands.ts'),
    'command-not-found': join(root, 'src', 'hooks', 'command-not-found.ts'),
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  // oclif's optional development helpers (TypeScript, ts-node, plugins) are never needed by the built CLI.
  external: [...Object.keys(pjson.dependencies).filter((d) => d !== '@oclif/core'), 'typescript', 'ts-node', 'tsx', '@oclif/plugin-*'],
  // oclif is CommonJS: its require() of Node's modules needs a real require in ESM output.
  banner: { js: "import { createRequire as __spinelCreateRequire } from 'node:module'; const require = __spinelCreateRequire(import.meta.url);" },
  plugins: [lazyRequires, noCollator, bundledHelpers],
  // oclif's check of Node against its own engines (it loads semver to do it) at every start;
  // package.json's engines states what spinel needs.
  define: { 'process.env.OCLIF_DISABLE_ENGINE_WARNING': '"true"' },
  logLevel: 'warning',
  metafile: false,
});

// The manifest, from the eagerly imported classes (dist/commands.js, built by tsc).
const { Plugin } = await import('@oclif/core');
const plugin = new Plugin({
  root,
  type: 'core',
  isRoot: true,
  ignoreManifest: true,
  errorOnManifestCreate: true,
  pjson: { ...pjson, oclif: { ...pjson.oclif, commands: { strategy: 'explicit', target: './dist/commands.js', identifier: 'COMMANDS' } } },
});
await plugin.load();
await writeFile(join(root, 'oclif.manifest.json'), `${JSON.stringify(plugin.manifest, null, 2)}\n`);
const ids = Object.keys(plugin.manifest.commands);
const byLocale = [...ids].sort((a, b) => a.localeCompare(b)).join(' ');
if (byLocale !== [...ids].sort().join(' ')) throw new Error(`command ids sort differently by locale and by code unit (${byLocale}): the no-collator patch would change oclif's order`);
