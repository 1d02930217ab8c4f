import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(): { stream: { write(s: string): boolean }; lines: () => string[] } {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true) }, lines: () => text.split('\n').slice(0, -1) };
}

const now = (): Date => new Date('2026-12-07T00:00:00.000Z');

describe('createLogger', () => {
  it('writes one JSON object per event, fields after the fixed keys, undefined fields left out', () => {
    const out = capture();
    const log = createLogger({ stream: out.stream, now });
    log.info('app.serving', 'Serving "x"\non two lines', { digest: 'sha256:ab', routes: undefined, n: 3, ok: true });
    log.error('runner.failed', 'boom', { code: 'RUNNER_LISTEN', msg: 'cannot override' });
    expect(out.lines()).toEqual([
      '{"time":"2026-12-07T00:00:00.000Z","level":"info","event":"app.serving","msg":"Serving \\"x\\"\\non two lines","digest":"sha256:ab","n":3,"ok":true}',
      '{"time":"2026-12-07T00:00:00.000Z","level":"error","event":"runner.failed","msg":"boom","code":"RUNNER_LISTEN"}',
    ]);
  });

  it('writes readable text lines, one per event, quoting values with spaces', () => {
    const out = capture();
    const log = createLogger({ stream: out.stream, format: 'text', now });
    log.warn('registry.unreachable', 'Cannot check\nnow', { code: 'OCI_NETWORK', where: 'a b', empty: '' });
    expect(out.lines()).toEqual(['2026-12-07T00:00:00.000Z WARN  registry.unreachable: Cannot check\\nnow code=OCI_NETWORK where="a b" empty=""']);
  });

  it('writes the same line through a writer of fixed fields as through log', () => {
    for (const format of ['json', 'text'] as const) {
      const a = capture();
      const b = capture();
      createLogger({ stream: a.stream, format, now }).info('guest.output', 'hi "there"', { component: 'web', stream: 'stdout', digest: undefined, msg: 'ignored' });
      createLogger({ stream: b.stream, format, now }).writer('info', 'guest.output', { component: 'web', stream: 'stdout', digest: undefined, msg: 'ignored' })('hi "there"');
      expect(b.lines()).toEqual(a.lines());
    }
  });

  it('coalesces the lines of one turn of the event loop into one write, and flush writes them at once', async () => {
    const writes: string[] = [];
    const log = createLogger({ stream: { write: (s: string) => writes.push(s) }, coalesce: true });
    log.info('a.one', 'first');
    log.info('a.two', 'second');
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    expect(writes[0]?.split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['a.one', 'a.two']);
    log.warn('a.three', 'third');
    log.flush();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toContain('"event":"a.three"');
  });

  it('stamps lines with the clock in ISO form', () => {
    const out = capture();
    const before = Date.now();
    createLogger({ stream: out.stream }).info('a.b', 'now');
    const stamped = Date.parse((JSON.parse(out.lines()[0] ?? '{}') as { time: string }).time);
    expect((JSON.parse(out.lines()[0] ?? '{}') as { time: string }).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(stamped).toBeGreaterThanOrEqual(before);
    expect(stamped).toBeLessThanOrEqual(Date.now());
  });
});
