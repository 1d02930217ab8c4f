import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockedApp } from '@spinel/manifest';
import type { VariableError } from '../errors.js';
import { parseDotenv, resolveComponentConfig, resolveVariables } from './variables.js';
import { createVariablesHost } from '../guest/spin/variables.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-vars-'));
  await writeFile(join(dir, 'token.txt'), 'from-file');
  await writeFile(join(dir, 'vars.json'), JSON.stringify({ region: 'json-region', token: 'json-token' }));
  await writeFile(join(dir, 'vars.toml'), 'region = "toml-region"');
  await writeFile(join(dir, '.env'), '# comment\nSPIN_VARIABLE_REGION=dotenv-region\nexport SPIN_VARIABLE_COLOR="dotenv blue"\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const app: Pick<LockedApp, 'variables'> = {
  variables: {
    region: { default: 'default-region' },
    color: { default: 'red' },
    token: { secret: true },
  },
};

async function failure(p: Promise<unknown>): Promise<VariableError> {
  try {
    await p;
  } catch (err) {
    return err as VariableError;
  }
  throw new Error('expected a failure');
}

describe('variables', () => {
  it('applies Spin\'s precedence: --variable, SPIN_VARIABLE_* env, .env, default', async () => {
    const dotenvPath = join(dir, '.env');
    const base = await resolveVariables(app, { flags: ['token=t0'], dotenvPath });
    expect(Object.fromEntries(base.values)).toEqual({ region: 'dotenv-region', color: 'dotenv blue', token: 't0' });
    const env = await resolveVariables(app, { flags: ['token=t0'], env: { SPIN_VARIABLE_REGION: 'env-region' }, dotenvPath });
    expect(env.values.get('region')).toBe('env-region');
    const cli = await resolveVariables(app, { flags: ['token=t0', 'region=cli-region'], env: { SPIN_VARIABLE_REGION: 'env-region' }, dotenvPath });
    expect(cli.values.get('region')).toBe('cli-region');
    const defaults = await resolveVariables(app, { flags: ['token=t0'], dotenvPath: join(dir, 'missing.env') });
    expect(defaults.values.get('region')).toBe('default-region');
    expect(defaults.secrets).toEqual(new Set(['token']));
  });

  it('reads K=@FILE, @FILE.json and @FILE.toml, later flags winning', async () => {
    const fromFiles = await resolveVariables(app, { cwd: dir, flags: ['@vars.json', 'token=@token.txt'] });
    expect(Object.fromEntries(fromFiles.values)).toEqual({ region: 'json-region', color: 'red', token: 'from-file' });
    const parseToml = (text: string): unknown => Object.fromEntries([/^(\w+) = "(.*)"$/.exec(text.trim())!.slice(1)].map(([k, v]) => [k, v]));
    const toml = await resolveVariables(app, { cwd: dir, flags: ['token=x', '@vars.toml'], parseToml });
    expect(toml.values.get('region')).toBe('toml-region');
    expect((await failure(resolveVariables(app, { cwd: dir, flags: ['@vars.toml', 'token=x'] }))).code).toBe('RUNTIME_VARIABLE_INVALID');
  });

  it('stops the start naming a required variable without a value', async () => {
    const err = await failure(resolveVariables(app, {}));
    expect(err.code).toBe('RUNTIME_VARIABLE_REQUIRED');
    expect(err.variable).toBe('token');
    expect(err.message).toContain('"token"');
    expect(err.message).toContain('SPIN_VARIABLE_TOKEN');
  });

  it('never puts a secret value in an error', async () => {
    const secret = 'hunter2-very-secret';
    const bad = await failure(resolveVariables(app, { flags: [`${secret}`] }));
    expect(bad.code).toBe('RUNTIME_VARIABLE_INVALID');
    expect(bad.message).not.toContain(secret);
    const resolved = await resolveVariables(app, { flags: [`token=${secret}`] });
    const undefinedRef = (() => {
      try {
        resolveComponentConfig({ id: 'web', config: { api_key: '{{ token }}', other: '{{ nope }}' } }, resolved);
      } catch (err) {
        return err as VariableError;
      }
      throw new Error('expected a failure');
    })();
    expect(undefinedRef.code).toBe('RUNTIME_VARIABLE_UNDEFINED');
    expect(undefinedRef.message).toContain('"nope"');
    expect(undefinedRef.message).not.toContain(secret);
    const host = createVariablesHost(resolveComponentConfig({ id: 'web', config: { api_key: '{{ token }}' } }, resolved));
    let payload: unknown;
    try {
      host.spinVariables.get('missing');
    } catch (err) {
      payload = (err as { payload: unknown }).payload;
    }
    expect(JSON.stringify(payload)).not.toContain(secret);
  });

  it('renders component config templates and serves them through both interfaces', async () => {
    const resolved = await resolveVariables(app, { flags: ['token=abc'] });
    const config = resolveComponentConfig({ id: 'web', config: { url: 'https://{{ region }}.example.com/{{token}}', plain: 'x' } }, resolved);
    expect(config).toEqual({ url: 'https://default-region.example.com/abc', plain: 'x' });
    const host = createVariablesHost(config);
    expect(host.spinVariables.get('url')).toBe('https://default-region.example.com/abc');
    const payloadOf = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (err) {
        return (err as { payload: unknown }).payload;
      }
      return undefined;
    };
    expect(payloadOf(() => host.spinVariables.get('Bad-Name'))).toMatchObject({ tag: 'invalid-name' });
    expect(payloadOf(() => host.spinVariables.get('absent'))).toMatchObject({ tag: 'undefined' });
    expect(host.wasiConfigStore.get('plain')).toBe('x');
    expect(host.wasiConfigStore.get('absent')).toBeUndefined();
    expect(host.wasiConfigStore.getAll()).toEqual([
      ['url', 'https://default-region.example.com/abc'],
      ['plain', 'x'],
    ]);
    expect(host.spinConfig.getConfig('plain')).toBe('x');
  });

  it('parses .env files', () => {
    expect(parseDotenv('A=1\n# c\nexport B = "two words"\nC=3 # trailing\nD=\'q\'\n')).toEqual({ A: '1', B: 'two words', C: '3', D: 'q' });
  });
});
