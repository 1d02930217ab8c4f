import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';

function sink(): { write(chunk: string): boolean; text(): string } {
  let text = '';
  return {
    write(chunk: string) {
      text += chunk;
      return true;
    },
    text: () => text,
  };
}

describe('spinel-runner main', () => {
  it('prints help and version and exits 0', async () => {
    const out = sink();
    expect(await main(['--help'], { stdout: out, env: {} })).toBe(0);
    expect(out.text()).toContain('Usage: spinel-runner --from <reference>');
    const version = sink();
    expect(await main(['--version'], { stdout: version, env: {} })).toBe(0);
    expect(version.text()).toMatch(/^spinel-runner \d+\.\d+\.\d+\n$/);
  });

  it('refuses bad configuration on stderr with the code, before binding anything', async () => {
    const err = sink();
    expect(await main(['--from', 'a/b:1', '--workers', 'lots'], { stderr: err, stdout: sink(), env: {} })).toBe(1);
    expect(err.text()).toBe("Error: --workers: 'lots' is not a whole number of at least 1.\nCode: RUNNER_INVALID_CONFIG\n");
    const none = sink();
    expect(await main([], { stderr: none, stdout: sink(), env: {} })).toBe(1);
    expect(none.text()).toContain('Code: RUNNER_NO_APP');
  });

  it('exits 1 with a JSON log line when a local app cannot be loaded, and when the runtime config is not TOML', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spinel-runner-main-'));
    try {
      await writeFile(join(dir, 'spin.toml'), 'spin_manifest_version = 2\n[application]\nname = "broken"\n[[trigger.http]]\nroute = "/..."\ncomponent = "missing"\n');
      const out = sink();
      const signals = new EventEmitter() as unknown as Pick<NodeJS.Process, 'on' | 'off'>;
      const io = { stdout: out, env: {}, cwd: dir, signals };
      expect(await main(['--from', dir, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--cache-dir', join(dir, 'cache')], io)).toBe(1);
      const events = out.text().trim().split('\n').map((l) => JSON.parse(l) as { event: string; level: string; code?: string; msg: string });
      const failed = events.find((e) => e.event === 'runner.failed');
      expect(failed?.level).toBe('error');
      expect(failed?.code).toMatch(/^MANIFEST_/);

      await writeFile(join(dir, 'rc.toml'), '[key_value_store.default\ntype = ');
      const out2 = sink();
      expect(await main(['--from', dir, '--runtime-config-file', 'rc.toml', '--admin-listen', '127.0.0.1:0'], { ...io, stdout: out2 })).toBe(1);
      expect(out2.text()).toContain('"code":"RUNNER_RUNTIME_CONFIG"');
      expect(out2.text()).toContain('is not valid TOML');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
