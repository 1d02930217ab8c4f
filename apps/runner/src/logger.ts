/**
 * Structured logs: one line per event on one stream (stdout in a container), as JSON objects
 * (`{"time","level","event","msg",…fields}`) or as readable text, written straight into the
 * line (no object is built per event). No file handles. With `coalesce`, the lines of one turn
 * of the event loop go out in one `write` at its end: stdout into a pipe is a synchronous system
 * call on the main thread, which also serves every request, and a guest that prints on every
 * request would otherwise cost one per request (as `spinel up`'s terminal output is coalesced).
 */

/** How bad an event is. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Extra fields of an event; `undefined` values are left out. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Writes log events. */
export interface Logger {
  /** Logs `event` (a stable dotted name, e.g. `app.ready`) with a human message and fields. */
  log(level: LogLevel, event: string, msg: string, fields?: LogFields): void;
  info(event: string, msg: string, fields?: LogFields): void;
  warn(event: string, msg: string, fields?: LogFields): void;
  error(event: string, msg: string, fields?: LogFields): void;
  /**
   * A writer of one event whose fields never change (guest output of one component and stream):
   * the level, event and fields are serialised once, each call adds the time and the message.
   */
  writer(level: LogLevel, event: string, fields?: LogFields): (msg: string) => void;
  /** Writes the lines waiting for the end of this turn of the event loop (with `coalesce`) now. */
  flush(): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @default "json" */
  format?: 'json' | 'text';
  /** Where lines go. */
  stream: { write(chunk: string): unknown };
  /** The time of an event. @default the clock */
  now?: () => Date;
  /**
   * Lines of one turn of the event loop are written together at its end (call `flush` before
   * exiting). @default false: one write per line, at once
   */
  coalesce?: boolean;
}

/** Keys every JSON line starts with; fields of the same name are left out. */
const FIXED_KEYS = new Set(['time', 'level', 'event', 'msg']);
/** Coalesced text beyond this is written at once rather than at the end of the turn. */
const MAX_PENDING_CHARS = 64 * 1024;

/** A logger writing one line per event to `options.stream`. */
export function createLogger(options: LoggerOptions): Logger {
  const json = (options.format ?? 'json') === 'json';
  const { stream } = options;
  const now = options.now;
  // The clock's ISO text up to the seconds, made once a second; the milliseconds are added per line.
  let lastSecond = -1;
  let secondText = '';
  const time = (): string => {
    if (now !== undefined) return now().toISOString();
    const ms = Date.now();
    const second = Math.floor(ms / 1000);
    if (second !== lastSecond) {
      lastSecond = second;
      secondText = new Date(second * 1000).toISOString().slice(0, 20);
    }
    const milli = ms - second * 1000;
    return `${secondText}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  };

  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    stream.write(text);
  };
  const write =
    options.coalesce === true
      ? (line: string): void => {
          pending += line;
          if (pending.length >= MAX_PENDING_CHARS) flush();
          else if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        }
      : (line: string): void => void stream.write(line);

  const writer = (level: LogLevel, event: string, fields: LogFields = {}): ((msg: string) => void) => {
    if (json) {
      const head = `","level":${JSON.stringify(level)},"event":${JSON.stringify(event)},"msg":`;
      let tail = '';
      for (const [k, v] of Object.entries(fields)) if (v !== undefined && !FIXED_KEYS.has(k)) tail += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
      tail += '}\n';
      return (msg) => write(`{"time":"${time()}${head}${JSON.stringify(msg)}${tail}`);
    }
    const head = ` ${level.toUpperCase().padEnd(5)} ${event}: `;
    let tail = '';
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      const text = String(v);
      tail += ` ${k}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
    }
    return (msg) => write(`${`${time()}${head}${msg}${tail}`.replace(/\n/g, '\\n')}\n`);
  };
  const log = (level: LogLevel, event: string, msg: string, fields?: LogFields): void => writer(level, event, fields)(msg);
  return {
    log,
    info: (event, msg, fields) => log('info', event, msg, fields),
    warn: (event, msg, fields) => log('warn', event, msg, fields),
    error: (event, msg, fields) => log('error', event, msg, fields),
    writer,
    flush,
  };
}
