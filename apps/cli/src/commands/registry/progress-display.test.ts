import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../format-bytes.js';
import { createProgressDisplay } from './progress-display.js';

function fakeStream(isTTY: boolean): { isTTY: boolean; columns: number; write(text: string): boolean; text: () => string } {
  let out = '';
  return {
    isTTY,
    columns: 80,
    write(chunk: string) {
      out += chunk;
      return true;
    },
    text: () => out,
  };
}

const a = { mediaType: 'application/vnd.wasm.content.layer.v1+wasm', digest: `sha256:${'ab'.repeat(32)}`, size: 2048 };
const b = { mediaType: 'application/vnd.wasm.content.layer.v1+data', digest: `sha256:${'cd'.repeat(32)}`, size: 4096 };

describe('progress display', () => {
  it('prints one plain line per finished blob, then a summary, when not on a terminal', () => {
    const stream = fakeStream(false);
    let t = 0;
    const progress = createProgressDisplay({ verb: 'push', stream, now: () => t });
    progress.onProgress({ descriptor: a, phase: 'start', transferred: 0 });
    progress.onProgress({ descriptor: a, phase: 'progress', transferred: 1024 });
    progress.onProgress({ descriptor: a, phase: 'done', transferred: 2048, outcome: 'uploaded' });
    progress.onProgress({ descriptor: b, phase: 'done', transferred: 0, outcome: 'exists' });
    t = 2000;
    progress.finish();
    expect(stream.text()).toBe(`pushed ${a.digest} (2.0 KiB)\nexists ${b.digest} (4.0 KiB)\nPushed 1 of 2 blobs (2.0 KiB, 1 already there) in 2.0s, 1.0 KiB/s\n`);
    expect(stream.text()).not.toContain('\u001b');
  });

  it('on a terminal shows each blob in flight with bytes done/total and the overall rate, redrawn in place, then one summary line', () => {
    const stream = fakeStream(true);
    let t = 0;
    const progress = createProgressDisplay({ verb: 'pull', stream, now: () => t, redrawMs: 0 });
    progress.onProgress({ descriptor: a, phase: 'start', transferred: 0 });
    progress.onProgress({ descriptor: b, phase: 'start', transferred: 0 });
    t = 1000;
    progress.onProgress({ descriptor: b, phase: 'progress', transferred: 1024 });
    const frame = stream.text().split('\u001b[').at(-1) ?? '';
    expect(frame).toContain(`${a.digest.slice(7, 19)}: Pulling 0 B/2.0 KiB`);
    expect(frame).toContain(`${b.digest.slice(7, 19)}: Pulling 1.0 KiB/4.0 KiB`);
    expect(frame).toContain('Pulling 1.0 KiB of 6.0 KiB (2 blobs) at 1.0 KiB/s');
    // The previous frame (3 lines) is moved over and erased, not appended to.
    expect(stream.text()).toContain('\u001b[3F\u001b[0J');
    progress.onProgress({ descriptor: a, phase: 'done', transferred: 2048, outcome: 'downloaded' });
    progress.onProgress({ descriptor: b, phase: 'done', transferred: 4096, outcome: 'downloaded' });
    t = 2000;
    progress.finish();
    const last = stream.text().split('\u001b[0J').at(-1);
    expect(last).toBe('Pulled 2 of 2 blobs (6.0 KiB, 0 cached) in 2.0s, 3.0 KiB/s\n');
  });

  it('formats sizes', () => {
    expect([formatBytes(12), formatBytes(1536), formatBytes(12 * 1024 * 1024)]).toEqual(['12 B', '1.5 KiB', '12.0 MiB']);
  });
});
