/** Worker half of request bodies over the channel (see body-protocol.ts). */
import type { ByteSource, PollSource } from '../guest/wasi/io.js';
import { BODY_METHOD, BODY_WINDOW_BYTES, type BodyAck, type BodyCallArgs, type BodyPush } from './body-protocol.js';
import type { BridgeCall, SyncBridge } from './sync-bridge.js';

/** Acknowledge read bytes in batches of this size (a quarter of the window: the pump never stalls on a full window while the guest reads). */
const ACK_BYTES = BODY_WINDOW_BYTES / 4;

/** The request body of one job, pulled over the channel from the first read on. */
export class ChannelBodySource implements ByteSource {
  private readonly channel: SyncBridge;
  private readonly job: number;
  private call: BridgeCall | undefined;
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private unacked = 0;
  readonly poll: PollSource;

  constructor(channel: SyncBridge, job: number) {
    this.channel = channel;
    this.job = job;
    this.poll = { ready: () => this.available(), external: true };
  }

  private start(): BridgeCall {
    this.call ??= this.channel.start(BODY_METHOD, { job: this.job } satisfies BodyCallArgs);
    return this.call;
  }

  private pump(): void {
    if (this.ended) return;
    const call = this.start();
    for (;;) {
      const event = call.take();
      if (event === undefined) return;
      if (event.kind === 'push') {
        this.queue.push((event.data as BodyPush).chunk);
        continue;
      }
      // The body ended, or failed (client gone, too large): either way the guest sees its end.
      this.ended = true;
      return;
    }
  }

  private available(): boolean {
    this.pump();
    return this.queue.length > 0 || this.ended;
  }

  private consumed(n: number): void {
    this.unacked += n;
    if (this.unacked >= ACK_BYTES && !this.ended) {
      this.call?.send({ ack: this.unacked } satisfies BodyAck);
      this.unacked = 0;
    }
  }

  read(max: number): Uint8Array | undefined {
    this.pump();
    const head = this.queue[0];
    if (head === undefined) return this.ended ? undefined : new Uint8Array(0);
    if (head.length <= max) {
      this.queue.shift();
      this.consumed(head.length);
      return head;
    }
    this.queue[0] = head.subarray(max);
    this.consumed(max);
    return head.subarray(0, max);
  }

  waitReadable(): void {
    while (!this.available()) this.channel.wait(Infinity);
  }

  /** The request is over: the main thread drops what the guest did not read. */
  dispose(): void {
    if (this.call !== undefined && !this.ended) this.call.cancel();
    this.queue.length = 0;
  }
}
