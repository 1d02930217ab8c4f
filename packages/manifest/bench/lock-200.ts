/**
 * Benchmark: parse + validate + lock of a generated 200-component manifest, reported as a
 * ratio to smol-toml's parse of the same text (measured side by side in this run).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { lockApp, parseManifest } from '../src/index.js';

const N = 200;
function generate(): string {
  const parts = [
    'spin_manifest_version = 2',
    '[application]',
    'name = "bench"',
    'version = "1.0.0"',
    '[variables]',
    'api_host = { default = "api.example.com" }',
    'token = { required = true, secret = true }',
  ];
  for (let i = 0; i < N; i++) {
    parts.push('[[trigger.http]]', `route = "/c${i}/..."`, `component = "c${i}-svc"`);
  }
  for (let i = 0; i < N; i++) {
    parts.push(
      `[component.c${i}-svc]`,
      `source = "target/component_${i}.wasm"`,
      `description = "component number ${i}"`,
      'allowed_outbound_hosts = ["https://{{ api_host }}", "redis://localhost:6379", "http://*.spin.internal"]',
      'key_value_stores = ["default"]',
      `environment = { INDEX = "${i}", MODE = "bench" }`,
      '[component.c' + i + '-svc.variables]',
      'token = "{{ token }}"',
      '[component.c' + i + '-svc.build]',
      `command = "cargo build --target wasm32-wasip1 -p c${i}"`,
      'watch = ["src/**/*.rs"]',
    );
  }
  return parts.join('\n');
}

const text = generate();
const dir = mkdtempSync(join(tmpdir(), 'spinel-bench-'));
writeFileSync(join(dir, 'spin.toml'), text);

async function timeIt(fn: () => unknown | Promise<unknown>, minMs = 1500): Promise<number> {
  for (let i = 0; i < 5; i++) await fn(); // warm-up
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    await fn();
    runs++;
  }
  return (performance.now() - start) / runs;
}

// Interleave rounds so background load affects both sides alike.
const ours: number[] = [];
const reference: number[] = [];
for (let round = 0; round < 5; round++) {
  reference.push(await timeIt(() => parseToml(text), 800));
  ours.push(await timeIt(async () => lockApp(parseManifest(text, { path: join(dir, 'spin.toml') }), { appDir: dir }), 800));
}
// The fastest round of each side: background load on a shared machine only ever adds time.
const ratio = Math.min(...ours) / Math.min(...reference);
rmSync(dir, { recursive: true, force: true });
console.log(`manifest bench: ${N} components, ${(text.length / 1024).toFixed(0)} KiB of TOML`);
console.log(`parse + validate + lock / smol-toml parse = ${ratio.toFixed(2)}x (best of 5 interleaved rounds each)`);
