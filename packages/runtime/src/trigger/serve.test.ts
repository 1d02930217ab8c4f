import { describe, expect, it } from 'vitest';
import type { Executor } from '../pool/executor-types.js';
import { serve } from './serve.js';

class RecordingExecutor implements Executor {
  origin: string | undefined;
  closed = 0;
  async handle(): Promise<never> {
    throw new Error('unused');
  }
  async runWagi(): Promise<never> {
    throw new Error('unused');
  }
  setSelfOrigin(origin: string): void {
    this.origin = origin;
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

const app = { triggers: [{ id: 's', trigger_type: 'http', trigger_config: { route: '/', static_response: { body: 'x' } } }], components: [] };

describe('serve', () => {
  it('tells the executor its self origin and closes it once after draining', async () => {
    const executor = new RecordingExecutor();
    const serving = await serve({ app, executor, listen: '127.0.0.1:0' });
    expect(executor.origin).toBe(serving.baseUrl);
    expect(await (await fetch(`${serving.baseUrl}/`)).text()).toBe('x');
    await Promise.all([serving.close(), serving.close()]);
    expect(executor.closed).toBe(1);
  });

  it('closes the executor when it cannot listen', async () => {
    const executor = new RecordingExecutor();
    await expect(serve({ app, executor, listen: 'not an address' })).rejects.toMatchObject({ code: 'RUNTIME_HTTP_INVALID_LISTEN' });
    expect(executor.closed).toBe(1);
  });
});
