import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands.js';
import { COMMANDS as LAZY } from './lazy-commands.js';

const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const MANIFEST = fileURLToPath(new URL('../oclif.manifest.json', import.meta.url));

// Which modules a CLI run loads: a resolve hook that prints every URL it resolves.
const TRACE = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent('export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write("LOADED " + r.url + "\\\\n"); return r; }'));
`)}`;

function loadedBy(args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', TRACE, BIN, ...args], { encoding: 'utf8' });
  return r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length));
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
    const version = loadedBy(['--version']);
    expect(version.filter((u) => commandChunk.test(u) || u.includes('@spinel/') || u.includes('/packages/'))).toEqual([]);
    const cacheDir = loadedBy(['cache', 'dir']);
    // Its own command and the cache library, nothing else of spinel's.
    expect(cacheDir.filter((u) => commandChunk.test(u)).map((u) => u.split('/').pop()?.split('-')[0])).toEqual(['dir']);
    expect(cacheDir.filter((u) => /packages\/(runtime|oci|manifest|kv-wit)\//.test(u) || /node_modules\/(undici|liquidjs|chokidar|tar)\//.test(u))).toEqual([]);
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
