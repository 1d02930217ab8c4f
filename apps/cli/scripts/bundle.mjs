// Bundles the CLI for a fast start (part of `pnpm build`): src/main.ts (oclif and the error
// boundary) and src/lazy-commands.ts become dist/bundle/, with each command in its own chunk
// loaded only when it runs. @oclif/core is bundled in (a few files instead of a hundred
// modules to resolve at every start); every other dependency stays external and is imported
// by the command that needs it. Also writes oclif.manifest.json from the real command classes
// (ids, flags, help), so oclif lists and parses nothing else at start.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// Node modules oclif requires when it loads but uses only on some paths (timing marks, reading a
// flag's value from stdin, a shell lookup): each is replaced by a stand-in that loads the real
// module on first use. perf_hooks alone costs about as much as the rest of oclif's start.
const LAZY_BUILTINS = ['node:perf_hooks', 'node:readline', 'node:child_process'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, (args) => (args.importer.includes('@oclif') ? { path: args.path, namespace: 'lazy-builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      loader: 'js',
      contents: `let real;
const load = () => (real ??= require(${JSON.stringify(args.path)}));
module.exports = new Proxy(function () {}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  apply: (_, self, args) => load().apply(self, args),
  construct: (_, args, target) => Reflect.construct(load(), args, target),
});`,
    }));
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
  plugins: [lazyBuiltins],
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
