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

/** Which components' output reaches the terminal: Spin follows all unless `--quiet`, or only the `--follow` ones. */
export function followPolicy(options: { quiet: boolean; follow: readonly string[]; followAll: boolean }): (componentId: string) => boolean {
  if (options.quiet) return () => false;
  if (options.followAll || options.follow.length === 0) return () => true;
  const followed = new Set(options.follow);
  return (id) => followed.has(id);
}
