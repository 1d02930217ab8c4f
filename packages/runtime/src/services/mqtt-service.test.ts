import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { startMosquitto, type MosquittoServer } from '@spinel/test-utils';
import { createMqttService } from './mqtt-service.js';

let broker: MosquittoServer;

beforeAll(async () => {
  broker = await startMosquitto({ users: { alice: 'secret', watcher: 'w' } });
});
afterAll(async () => {
  await broker?.stop();
});

const allow = () => new Map([['c', AllowedHosts.parse([`mqtt://127.0.0.1:${broker.port}`])]]);

describe('mqtt service', () => {
  it('publishes with each QoS and a subscriber receives each message with the QoS asked', async () => {
    const subscriber = await mqtt.connectAsync(broker.url, { username: 'watcher', password: 'w', clientId: 'watcher' });
    const received: Array<{ topic: string; payload: string; qos: number }> = [];
    subscriber.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), qos: packet.qos }));
    await subscriber.subscribeAsync('spin/#', { qos: 2 });
    const service = createMqttService({ allowedHosts: allow(), maxPayloadSizeBytes: 64 });
    const opened = await service.open('w', 'c', `${broker.url}?client_id=guest-1`, 'alice', 'secret', 30n);
    if (!opened.ok) throw new Error(JSON.stringify(opened.error));
    for (const [i, qos] of (['at-most-once', 'at-least-once', 'exactly-once'] as const).entries()) {
      expect(await service.publish('w', opened.value, `spin/${i}`, new TextEncoder().encode(`m${i}`), qos)).toEqual({ ok: true, value: undefined });
    }
    expect(await service.publish('w', opened.value, 'spin/big', new Uint8Array(65), 'at-most-once')).toEqual({
      ok: false,
      error: { tag: 'other', val: 'payload size 65 exceeds the maximum allowed size of 64 bytes' },
    });
    for (let i = 0; i < 100 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(received.sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
      { topic: 'spin/0', payload: 'm0', qos: 0 },
      { topic: 'spin/1', payload: 'm1', qos: 1 },
      { topic: 'spin/2', payload: 'm2', qos: 2 },
    ]);
    service.drop('w', opened.value);
    expect(service.stats()).toEqual({ held: 0, idle: 1 });
    await service.close();
    await subscriber.endAsync();
  });

  it('gives a wrong password as connection-failed and refuses an unlisted address', async () => {
    const service = createMqttService({ allowedHosts: allow() });
    const wrong = await service.open('w', 'c', broker.url, 'alice', 'not-it', 30n);
    expect(wrong.ok === false && wrong.error.tag).toBe('connection-failed');
    expect(JSON.stringify(wrong)).not.toContain('not-it');
    expect(await service.open('w', 'c', `mqtt://localhost:${broker.port}`, 'alice', 'secret', 30n)).toEqual({
      ok: false,
      error: { tag: 'connection-failed', val: `address mqtt://localhost:${broker.port} is not permitted` },
    });
    expect(await service.open('w', 'c', 'no address', 'alice', 'secret', 30n)).toEqual({ ok: false, error: { tag: 'invalid-address' } });
    await service.close();
  });
});
