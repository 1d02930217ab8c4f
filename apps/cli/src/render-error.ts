/** What the error boundary prints for an error, and the exit status it implies. */
export interface RenderedError {
  code: string;
  message: string;
  text: string;
  exitCode: number;
}

/** Plain rendering of a library error: its message, `cause` chain and stable code. */
export function renderError(err: unknown, options: { debug?: boolean } = {}): RenderedError {
  const error = err instanceof Error ? err : new Error(String(err));
  const rawCode = (error as { code?: unknown }).code;
  const code = typeof rawCode === 'string' ? rawCode : 'INTERNAL';
  const lines = [`Error: ${error.message}`];
  let cause: unknown = error.cause;
  for (let depth = 0; cause instanceof Error && depth < 8; depth += 1) {
    lines.push(`  caused by: ${cause.message}`);
    cause = cause.cause;
  }
  const hint = (error as { hint?: unknown }).hint;
  if (typeof hint === 'string' && hint.length > 0) lines.push(`Hint: ${hint}`);
  lines.push(`Code: ${code}`);
  // A bug in spinel (no stable code) shows its stack; a user mistake never does.
  if (options.debug === true || code === 'INTERNAL') lines.push('', error.stack ?? '');
  return { code, message: error.message, text: `${lines.join('\n')}\n`, exitCode: 1 };
}
