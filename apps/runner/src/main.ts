/**
 * `spinel-runner`'s entry: reads the configuration from the command line and the environment,
 * wires the real dependencies, serves until SIGTERM/SIGINT (drain, exit 0) and checks the tag
 * on SIGHUP. Returns the exit status instead of exiting, so it can be tested in-process.
 */
import { readFileSync } from 'node:fs';
import { helpText, parseCommandLine } from './config.js';
import { errorCode } from './errors.js';
import { createLogger } from './logger.js';
import { createRunner } from './runner.js';

/** The process around {@link main}: defaults are the real ones. */
export interface MainIo {
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** Log lines go here. */
  stdout?: { write(chunk: string): unknown };
  /** Errors before the logger exists (bad flags) go here. */
  stderr?: { write(chunk: string): unknown };
  /** Where SIGTERM, SIGINT and SIGHUP come from. */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/**
 * Runs the runner until it is told to stop.
 * @returns 0 after a signal and a clean drain; 1 when the configuration is bad or the app cannot be served
 */
export async function main(argv: readonly string[], io: MainIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const signals = io.signals ?? process;
  let parsed;
  try {
    parsed = parseCommandLine(argv, env);
  } catch (err) {
    stderr.write(`Error: ${(err as Error).message}\nCode: ${errorCode(err)}\n`);
    return 1;
  }
  if (parsed.kind === 'help') {
    stdout.write(helpText());
    return 0;
  }
  if (parsed.kind === 'version') {
    stdout.write(`spinel-runner ${version()}\n`);
    return 0;
  }
  const { config } = parsed;
  // Lines of one event-loop turn go out in one write; whatever waits is written before the process exits.
  const logger = createLogger({ format: config.logFormat, stream: stdout, coalesce: true });
  const flushLog = (): void => logger.flush();
  process.on('exit', flushLog);
  const runner = createRunner({ config, logger, env, cwd: io.cwd ?? process.cwd() });

  let stopping: Promise<void> | undefined;
  let signalled!: (name: string) => void;
  const signal = new Promise<string>((resolveSignal) => (signalled = resolveSignal));
  const onTerm = (): void => signalled('SIGTERM');
  const onInt = (): void => signalled('SIGINT');
  const onHup = (): void => {
    logger.info('runner.sighup', 'SIGHUP: checking for a new version now.');
    void runner.checkNow();
  };
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  signals.on('SIGHUP', onHup);
  try {
    try {
      await runner.start();
    } catch (err) {
      logger.error('runner.failed', (err as Error).message, { code: errorCode(err) });
      await runner.stop().catch(() => undefined);
      return 1;
    }
    const outcome = await Promise.race([signal.then((name) => ({ kind: 'signal' as const, name })), runner.failure.then((error) => ({ kind: 'failure' as const, error }))]);
    if (outcome.kind === 'signal') logger.info('runner.signal', `${outcome.name}: shutting down.`, { signal: outcome.name });
    stopping = runner.stop();
    await stopping;
    return outcome.kind === 'signal' ? 0 : 1;
  } finally {
    logger.flush();
    process.off('exit', flushLog);
    signals.off('SIGTERM', onTerm);
    signals.off('SIGINT', onInt);
    signals.off('SIGHUP', onHup);
  }
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
