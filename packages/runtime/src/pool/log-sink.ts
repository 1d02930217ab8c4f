import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Appends guest stdout/stderr to `<dir>/<component>_{stdout,stderr}.txt`, batching writes so a
 * busy component costs one append per flush interval, never a file per request.
 */
export class LogSink {
  private readonly dir: string | null;
  private readonly pending = new Map<string, Uint8Array[]>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private madeDir = false;
  constructor(dir: string | null) {
    this.dir = dir;
  }
  append(componentId: string, stream: 'stdout' | 'stderr', bytes: Uint8Array): void {
    if (this.dir === null || bytes.length === 0) return;
    const file = join(this.dir, `${componentId}_${stream}.txt`);
    const list = this.pending.get(file);
    if (list === undefined) this.pending.set(file, [bytes]);
    else list.push(bytes);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), 50);
      this.timer.unref();
    }
  }
  /** Writes everything buffered so far. */
  flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.entries()];
    this.pending.clear();
    const dir = this.dir;
    if (batch.length === 0 || dir === null) return this.writing;
    this.writing = this.writing.then(async () => {
      if (!this.madeDir) {
        await mkdir(dir, { recursive: true });
        this.madeDir = true;
      }
      await Promise.all(batch.map(([file, chunks]) => appendFile(file, Buffer.concat(chunks))));
    }).catch(() => {
      // Logging must never take the server down; a failed append loses that batch only.
    });
    return this.writing;
  }
}
