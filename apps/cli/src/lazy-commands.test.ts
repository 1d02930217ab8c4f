import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands.js';
import { COMMANDS as LAZY } from './lazy-commands.js';

const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const MANIFEST = fileURLToPath(new URL('../oclif.manifest.json', import.meta.url));

// Which modules a CLI run loads: a resolve hook that prints every URL it resolves, and at exit
// every CommonJS file required (from a bundle's require(), which the hook does not see) and how
// often localeCompare ran (its first call in a process builds ICU's collator, ~15 ms).
const TRACE = `data:text/javascript,${encodeURIComponent(`
import { createRequire, register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent('export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write("LOADED " + r.url + "\\\\n"); return r; }'));
const compare = String.prototype.localeCompare;
let compares = 0;
String.prototype.localeCompare = function (...args) { compares += 1; return compare.apply(this, args); };
process.on('exit', () => {
  for (const file of Object.keys(createRequire(process.argv[1]).cache)) process.stderr.write('LOADED file://' + file + '\\n');
  process.stderr.write('LOCALECOMPARE ' + compares + '\\n');
});
`)}`;

function loadedBy(args: string[]): string[] {
  // As a user runs it: under vitest NODE_ENV is `test`, where oclif's development mode would
  // register tsx for the TypeScript sources beside the build.
  const env = { ...process.env };
  delete env['NODE_ENV'];
  const r = spawnSync(process.execPath, ['--import', TRACE, BIN, ...args], { encoding: 'utf8', env });
  expect(r.status).toBe(0);
  return r.stderr.split('\n').filter((l) => l.startsWith('LOADED ') || l.startsWith('LOCALECOMPARE ')).map((l) => (l.startsWith('LOADED ') ? l.slice('LOADED '.length) : l));
}

describe('lazy command loading', () => {
  it('the lazy map, the command classes and the built oclif manifest name the same commands', () => {
    const ids = Object.keys(COMMANDS).sort();
    expect(Object.keys(LAZY).sort()).toEqual(ids);
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { commands: Record<string, { flags: Record<string, unknown> }> };
    expect(Object.keys(manifest.commands).sort()).toEqual(ids);
    // The manifest carries each command's flags (help and parsing come from it).
    expect(Object.keys(manifest.commands['up']?.flags ?? {})).toContain('listen');
  });

  it('starts without loading any command or library it does not run', () => {
    const commandChunk = /\/chunks\/(lock|build|doctor|dir|list|size|verify|prune|clean|get|set|delete|query|exec|scaffold|push|pull|run|login|logout|up|new|add|install|uninstall|upgrade|watch)-[A-Z0-9]+\.js$/;
    // Outside the CLI's own bundle: a library, or a package loaded from node_modules.
    const outside = (u: string): boolean => u.includes('@spinel/') || u.includes('/packages/') || u.includes('/node_modules/');
    const version = loadedBy(['--version']);
    expect(version.filter((u) => commandChunk.test(u) || outside(u))).toEqual([]);
    // oclif sorts its commands without ICU's collator (scripts/bundle.mjs).
    expect(version).toContain('LOCALECOMPARE 0');
    const cacheDir = loadedBy(['cache', 'dir']);
    // Its own command, nothing else: the cache root comes from a helper bundled in, not the library.
    expect(cacheDir.filter((u) => commandChunk.test(u)).map((u) => u.split('/').pop()?.split('-')[0])).toEqual(['dir']);
    expect(cacheDir.filter(outside)).toEqual([]);
    expect(cacheDir).toContain('LOCALECOMPARE 0');
  });
});

describe('unknown commands and flags', () => {
  it('name the nearest known one', () => {
    const cmd = spawnSync(process.execPath, [BIN, 'upp'], { encoding: 'utf8' });
    expect(cmd.status).toBe(2);
    expect(cmd.stderr).toBe("Error: 'upp' is not a spinel command. Did you mean 'up'?\nHint: Run 'spinel --help' for the list of commands.\nCode: CLI_UNKNOWN_COMMAND\n");
    const topic = spawnSync(process.execPath, [BIN, 'templats', 'lst'], { encoding: 'utf8' });
    expect(topic.stderr).toContain("Did you mean 'templates list'?");
    const far = spawnSync(process.execPath, [BIN, 'deploy'], { encoding: 'utf8' });
    expect(far.stderr).toMatch(/^Error: 'deploy' is not a spinel command\n/);
    const flag = spawnSync(process.execPath, [BIN, 'build', '--skip-target-check'], { encoding: 'utf8' });
    expect(flag.status).toBe(2);
    // oclif wraps and decorates its flag errors; read the words.
    const words = flag.stderr.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '').replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ');
    expect(words).toContain('Nonexistent flag: --skip-target-check (did you mean --skip-target-checks?)');
  });
});
