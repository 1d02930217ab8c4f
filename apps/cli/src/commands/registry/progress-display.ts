import type { BlobProgressEvent } from '@spinel/oci';
import { formatBytes } from '../../format-bytes.js';

/** Where progress goes: a terminal gets lines redrawn in place, anything else plain lines. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Options of {@link createProgressDisplay}. */
export interface ProgressDisplayOptions {
  verb: 'push' | 'pull';
  stream: ProgressStream;
  /** Clock in ms. @default performance.now */
  now?: () => number;
  /** Least time between two redraws on a terminal, in ms. @default 100 */
  redrawMs?: number;
}

/** Receives the library's per-blob events and renders them; `finish` prints the summary line. */
export interface ProgressDisplay {
  onProgress(event: BlobProgressEvent): void;
  finish(): void;
}

const LABEL: Record<string, string> = { exists: 'exists', mounted: 'mounted', uploaded: 'pushed', cached: 'cached', downloaded: 'pulled' };
const MAX_LINES = 12;

/**
 * Progress as docker and oras users expect it. On a terminal: one line per blob in flight
 * with its bytes done/total, and a last line with the overall bytes and rate, redrawn in
 * place; when done, all of it collapses into one summary line. Elsewhere (a pipe, a CI log):
 * one plain line per finished blob, then the summary.
 */
export function createProgressDisplay(options: ProgressDisplayOptions): ProgressDisplay {
  const { stream } = options;
  const tty = stream.isTTY === true;
  const now = options.now ?? (() => performance.now());
  const redrawMs = options.redrawMs ?? 100;
  const started = now();
  const active = new Map<string, { size: number; done: number }>();
  const seen = new Map<string, number>();
  let moved = 0;
  let skipped = 0;
  let transferred = 0;
  let drawnLines = 0;
  let lastDraw = -Infinity;
  const width = (): number => Math.max(20, (stream.columns ?? 100) - 1);
  const rate = (): string => {
    const seconds = Math.max(0.001, (now() - started) / 1000);
    return `${formatBytes(Math.round(transferred / seconds))}/s`;
  };
  const erase = (): void => {
    if (drawnLines > 0) stream.write(`\u001b[${drawnLines}F\u001b[0J`);
    drawnLines = 0;
  };
  const draw = (force: boolean): void => {
    if (!tty) return;
    const t = now();
    if (!force && t - lastDraw < redrawMs) return;
    lastDraw = t;
    const verb = options.verb === 'push' ? 'Pushing' : 'Pulling';
    const lines = [...active.entries()].slice(0, MAX_LINES).map(([digest, s]) => `${digest.slice(7, 19)}: ${verb} ${formatBytes(s.done)}/${formatBytes(s.size)}`);
    if (active.size > MAX_LINES) lines.push(`… and ${active.size - MAX_LINES} more`);
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    lines.push(`${verb} ${formatBytes(transferred)} of ${formatBytes(total)} (${seen.size} blobs) at ${rate()}`);
    erase();
    stream.write(lines.map((l) => `${l.slice(0, width())}\n`).join(''));
    drawnLines = lines.length;
  };
  return {
    onProgress(event) {
      const { digest, size } = event.descriptor;
      seen.set(digest, size);
      if (event.phase === 'start') {
        active.set(digest, { size, done: 0 });
        draw(false);
      } else if (event.phase === 'progress') {
        const state = active.get(digest);
        if (state !== undefined) {
          transferred += Math.max(0, event.transferred - state.done);
          state.done = event.transferred;
        }
        draw(false);
      } else {
        const state = active.get(digest);
        active.delete(digest);
        if (event.outcome === 'uploaded' || event.outcome === 'downloaded') {
          moved += 1;
          transferred += Math.max(0, size - (state?.done ?? 0));
        } else {
          skipped += 1;
        }
        if (tty) draw(true);
        else stream.write(`${LABEL[event.outcome ?? ''] ?? event.outcome ?? 'done'} ${digest} (${formatBytes(size)})\n`);
      }
    },
    finish() {
      erase();
      const seconds = (now() - started) / 1000;
      const past = options.verb === 'push' ? 'Pushed' : 'Pulled';
      const kept = options.verb === 'push' ? 'already there' : 'cached';
      stream.write(`${past} ${moved} of ${seen.size} blobs (${formatBytes(transferred)}, ${skipped} ${kept}) in ${seconds.toFixed(1)}s, ${rate()}\n`);
    },
  };
}
