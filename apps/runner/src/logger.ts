/**
 * Structured logs: one line per event on one stream (stdout in a container), as JSON objects
 * (`{"time","level","event","msg",…fields}`) or as readable text. Writing a line is one
 * `write` call: no buffering that a crash could lose, no file handles.
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
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @default "json" */
  format?: 'json' | 'text';
  /** Where lines go. */
  stream: { write(chunk: string): unknown };
  /** The time of an event. @default () => new Date() */
  now?: () => Date;
}

/** A logger writing one line per event to `options.stream`. */
export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? (() => new Date());
  const json = (options.format ?? 'json') === 'json';
  const log = (level: LogLevel, event: string, msg: string, fields: LogFields = {}): void => {
    const time = now().toISOString();
    if (json) {
      const record: Record<string, unknown> = { time, level, event, msg };
      for (const [k, v] of Object.entries(fields)) if (v !== undefined && !(k in record)) record[k] = v;
      options.stream.write(`${JSON.stringify(record)}\n`);
      return;
    }
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${event}: ${msg}`;
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      const text = String(v);
      line += ` ${k}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
    }
    options.stream.write(`${line.replace(/\n/g, '\\n')}\n`);
  };
  return {
    log,
    info: (event, msg, fields) => log('info', event, msg, fields),
    warn: (event, msg, fields) => log('warn', event, msg, fields),
    error: (event, msg, fields) => log('error', event, msg, fields),
  };
}
