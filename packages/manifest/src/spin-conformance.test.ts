import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ManifestAggregateError } from './errors.js';
import { serializeLockedApp } from './locked-app.js';
import { parseManifest } from './parse-manifest.js';
import { lockManifestFile } from './read-manifest.js';

// Opt-in conformance run against Spin's own loader test data: set SPIN_SOURCE_DIR to a
// checkout of spinframework/spin. Nothing from Spin is stored in this repository.
const spinDir = process.env['SPIN_SOURCE_DIR'];
const ui = spinDir === undefined ? undefined : join(spinDir, 'crates/loader/tests/ui');
const enabled = ui !== undefined && existsSync(ui);

const VALID: [string, string][] = [
  ['valid-manifest.toml', 'valid-manifest.lock'],
  ['service-chaining.toml', 'service-chaining.lock'],
  ['valid-with-files/spin.toml', 'valid-with-files/spin.lock'],
  ['wagi-custom-entrypoint.toml', 'wagi-custom-entrypoint.lock'],
  ['insecure-allow-all-with-invalid-url.toml', 'insecure-allow-all-with-invalid-url.lock'],
  ['middleware.toml', 'middleware.lock'],
];
const INVALID = ['invalid-digest', 'invalid-manifest', 'invalid-url-in-allowed-http-hosts', 'invalid-variable-default-in-allowed-hosts', 'invalid-version', 'invalid-manifest-duplicate-id'];

describe.runIf(enabled)("conformance with Spin's loader tests (SPIN_SOURCE_DIR)", () => {
  it.each(VALID)('%s locks to the JSON in %s', async (toml, lock) => {
    const dir = ui as string;
    const work = mkdtempSync(join(tmpdir(), 'spinel-conf-'));
    const app = await lockManifestFile(join(dir, toml), { workingDir: work, resolver: async (_u, d) => ({ path: `/CACHE/spin/registry/wasm/${d}` }) });
    const got = serializeLockedApp(app)
      .replaceAll(pathToFileURL(dirname(join(dir, toml))).href, 'file://<test-dir>')
      .replaceAll(pathToFileURL(work).href, 'file://<temp-dir>')
      .replaceAll('file:///CACHE', 'file://<cache-dir>');
    expect(got).toBe(readFileSync(join(dir, lock), 'utf8'));
  });

  it.each(INVALID)("%s fails with Spin's key phrase", async (name) => {
    const dir = ui as string;
    const expected = readFileSync(join(dir, `${name}.err`), 'utf8');
    // The innermost cause line of Spin's error chain is the key phrase.
    const lines = expected.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('|') && !/^\d+ \|/.test(l) && !/^[|^ ]+$/.test(l));
    const phrase = (lines[lines.length - 1] as string).replace(/^\d+: /, '').replace(/"<test-dir>[^"]*"/, '');
    let message = '';
    try {
      await lockManifestFile(join(dir, `${name}.toml`), { workingDir: mkdtempSync(join(tmpdir(), 'spinel-conf-')) });
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestAggregateError);
      message = (e as Error).message;
    }
    expect(message).not.toBe('');
    if (name === 'invalid-manifest') expect(message).toContain('TOML parse error at line 6, column 4');
    else if (name === 'invalid-variable-default-in-allowed-hosts') expect(message).toContain('results in invalid config "https://invalid host"');
    else expect(message).toContain(phrase);
  });
});

const manifestUi = spinDir === undefined ? undefined : join(spinDir, 'crates/manifest/tests/ui');

describe.runIf(manifestUi !== undefined && existsSync(manifestUi))("conformance with Spin's manifest tests (SPIN_SOURCE_DIR)", () => {
  it.each(['bad_component_id', 'bad_kebab_component_ref', 'bad_variable_name', 'bad_version', 'empty'])("invalid/%s fails with Spin's key phrase", (name) => {
    const dir = join(manifestUi as string, 'invalid');
    const expected = readFileSync(join(dir, `${name}.err`), 'utf8').trim().split('\n');
    const phrase = (expected[expected.length - 1] as string).trim();
    let message = '';
    try {
      parseManifest(readFileSync(join(dir, `${name}.toml`), 'utf8'));
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestAggregateError);
      message = (e as Error).message;
    }
    expect(message).toContain(phrase);
  });

  it.each(['maximal', 'minimal', 'old_version', 'update_component_ids'])('v1/%s converts to the same model as Spin\'s .toml.v2', (name) => {
    const dir = join(manifestUi as string, 'v1');
    const ours = parseManifest(readFileSync(join(dir, `${name}.toml`), 'utf8')).manifest;
    const spins = parseManifest(readFileSync(join(dir, `${name}.toml.v2`), 'utf8')).manifest;
    expect(ours).toEqual(spins);
  });
});
