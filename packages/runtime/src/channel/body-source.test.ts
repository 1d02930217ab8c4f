// Request bodies over the channel: the main thread reads only as far as the guest's window allows.
import { describe, expect, it } from 'vitest';
import { BODY_METHOD, BODY_WINDOW_BYTES } from './body-protocol.js';
import { bodyPumpHandler } from './body-pump.js';
import { ChannelBodySource } from './body-source.js';
import { createBridgeServer } from './bridge-server.js';
import { createSyncBridge } from './sync-bridge.js';

const CHUNK = 16 * 1024;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 150));

describe('a request body over the channel', () => {
  it('is not read before the guest asks, then only a window ahead of what the guest read, and no further once dropped', async () => {
    let pulled = 0;
    const body = {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          pulled += CHUNK;
          yield new Uint8Array(CHUNK);
        }
      },
    };
    const server = createBridgeServer({ [BODY_METHOD]: bodyPumpHandler((job) => (job === 7 ? body : undefined)) });
    const channel = createSyncBridge(server.connect());
    try {
      const source = new ChannelBodySource(channel, 7);
      await settle();
      expect(pulled).toBe(0);

      // The first read starts the pull; the main thread fills the window and stops there.
      expect(source.read(CHUNK)?.length).toBe(0);
      await settle();
      expect(pulled).toBeGreaterThanOrEqual(BODY_WINDOW_BYTES);
      expect(pulled).toBeLessThanOrEqual(BODY_WINDOW_BYTES + CHUNK);
      const full = pulled;
      await settle();
      expect(pulled).toBe(full);

      // What the guest reads is acknowledged, and the window moves by as much.
      let read = 0;
      while (read < BODY_WINDOW_BYTES / 2) read += source.read(CHUNK)?.length ?? 0;
      await settle();
      expect(pulled).toBeGreaterThan(full);
      expect(pulled).toBeLessThanOrEqual(read + BODY_WINDOW_BYTES + CHUNK);

      // Dropped: nothing more is read for it.
      source.dispose();
      await settle();
      const atDrop = pulled;
      await settle();
      expect(pulled).toBe(atDrop);
      expect(server.activeCalls).toBe(0);
    } finally {
      channel.close();
      server.close();
    }
  });
});
