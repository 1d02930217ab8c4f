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
});
