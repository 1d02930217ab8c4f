import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';

function capture(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('spinel-runner', () => {
  it('refuses to run with a coded error and points at spinel up -f until it exists', async () => {
    const out = capture();
    expect(await main(['--app', 'ghcr.io/acme/app:1'], out.stream)).toBe(1);
    expect(out.text()).toContain('Code: RUNNER_NOT_IMPLEMENTED');
    expect(out.text()).toContain('spinel up -f');
  });
});
