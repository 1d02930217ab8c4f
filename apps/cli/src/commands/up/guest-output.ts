import { TextDecoder } from 'node:util';

/**
 * Guest stdout/stderr on the terminal, as `spinel up` shows it (Spin's `--follow`): each line
 * prefixed by the component's id, so the output of several components can be told apart; a
 * partial line waits for its end (or for `flush`).
 */
export class GuestOutputPrinter {
  private readonly pending = new Map<string, string>();
  private readonly decoders = new Map<string, TextDecoder>();
  private readonly write: (stream: 'stdout' | 'stderr', text: string) => void;

  constructor(write: (stream: 'stdout' | 'stderr', text: string) => void) {
    this.write = write;
  }

  /** Bytes a component wrote to one of its streams. */
  append(componentId: string, stream: 'stdout' | 'stderr', bytes: Uint8Array): void {
    const key = `${stream}\0${componentId}`;
    let decoder = this.decoders.get(key);
    if (decoder === undefined) {
      decoder = new TextDecoder();
      this.decoders.set(key, decoder);
    }
    const text = (this.pending.get(key) ?? '') + decoder.decode(bytes, { stream: true });
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      this.pending.set(key, text);
      return;
    }
    this.pending.set(key, text.slice(end + 1));
    const prefix = `[${componentId}] `;
    this.write(stream, `${text.slice(0, end).split('\n').map((line) => prefix + line).join('\n')}\n`);
  }

  /** Prints partial lines left at the end (a guest that did not end its last line). */
  flush(): void {
    for (const [key, rest] of this.pending) {
      if (rest === '') continue;
      const [stream, componentId] = key.split('\0') as ['stdout' | 'stderr', string];
      this.write(stream, `[${componentId}] ${rest}\n`);
    }
    this.pending.clear();
  }
}

/**
 * Writes text to stdout/stderr once per turn of the event loop: a guest that logs on every request
 * then costs one write per turn, not one per request (each write to a pipe or a terminal is a
 * system call on the main thread, about 10 µs here, which serves every request). Order within a
 * stream is kept; `flush` writes what waits at once.
 */
export class CoalescingWriter {
  private stdout = '';
  private stderr = '';
  private scheduled = false;
  private readonly sink: (stream: 'stdout' | 'stderr', text: string) => void;

  constructor(sink: (stream: 'stdout' | 'stderr', text: string) => void) {
    this.sink = sink;
  }

  /** Queues `text` for `stream`, written at the end of this turn of the event loop. */
  write(stream: 'stdout' | 'stderr', text: string): void {
    if (stream === 'stdout') this.stdout += text;
    else this.stderr += text;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes everything queued now. */
  flush(): void {
    this.scheduled = false;
    const out = this.stdout;
    const err = this.stderr;
    this.stdout = '';
    this.stderr = '';
    if (out !== '') this.sink('stdout', out);
    if (err !== '') this.sink('stderr', err);
  }
}

/** Which components' output reaches the terminal: Spin follows all unless `--quiet`, or only the `--follow` ones. */
export function followPolicy(options: { quiet: boolean; follow: readonly string[]; followAll: boolean }): (componentId: string) => boolean {
  if (options.quiet) return () => false;
  if (options.followAll || options.follow.length === 0) return () => true;
  const followed = new Set(options.follow);
  return (id) => followed.has(id);
}
