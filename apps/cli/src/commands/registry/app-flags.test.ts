import { describe, expect, it } from 'vitest';
import { formatBytes, progressRenderer } from './app-flags.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  let out = '';
  return {
    isTTY,
    columns: 80,
    write(chunk: string) {
      out += chunk;
      return true;
    },
    text: () => out,
  } as unknown as NodeJS.WriteStream & { text: () => string };
}

const descriptor = { mediaType: 'application/vnd.wasm.content.layer.v1+wasm', digest: `sha256:${'ab'.repeat(32)}`, size: 2048 };

describe('progressRenderer', () => {
  it('prints one plain line per finished blob when not on a terminal', () => {
    const stream = fakeStream(false);
    const progress = progressRenderer({ enabled: true, verb: 'push', stream });
    progress.onProgress({ descriptor, phase: 'start', transferred: 0 });
    progress.onProgress({ descriptor, phase: 'progress', transferred: 1024 });
    progress.onProgress({ descriptor, phase: 'done', transferred: 2048, outcome: 'uploaded' });
    progress.finish();
    expect(stream.text()).toBe(`pushed ${descriptor.digest} (2.0 KiB)\n`);
  });

  it('redraws a status line with per-blob percentages on a terminal', () => {
    const stream = fakeStream(true);
    const progress = progressRenderer({ enabled: true, verb: 'pull', stream });
    progress.onProgress({ descriptor, phase: 'start', transferred: 0 });
    expect(stream.text()).toContain(`Pulling ${descriptor.digest.slice(7, 19)} 0%`);
    progress.onProgress({ descriptor, phase: 'done', transferred: 2048, outcome: 'downloaded' });
    expect(stream.text()).toContain('\r\u001b[2K');
    expect(stream.text()).toContain(`pulled ${descriptor.digest} (2.0 KiB)\n`);
  });

  it('is silent when disabled (--json)', () => {
    const stream = fakeStream(true);
    const progress = progressRenderer({ enabled: false, verb: 'push', stream });
    progress.onProgress({ descriptor, phase: 'done', transferred: 2048, outcome: 'exists' });
    progress.finish();
    expect(stream.text()).toBe('');
  });

  it('formats sizes', () => {
    expect([formatBytes(12), formatBytes(1536), formatBytes(12 * 1024 * 1024)]).toEqual(['12 B', '1.5 KiB', '12.0 MiB']);
  });
});
