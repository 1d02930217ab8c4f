/**
 * What a reliability suite is: an id (`R1`…`R8`), what it proves, and a run in one of two
 * profiles. The short profile is what CI runs inside `pnpm test`; the full one is
 * `pnpm test:reliability`. Either way a run ends with one line carrying its figure.
 */

/** `short`: seconds per suite, for CI. `full`: the durations and counts the issue names. */
export type Profile = 'short' | 'full';

/** The outcome of one run. */
export interface SuiteResult {
  /** `R1` … `R8`. */
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  /** The measured figure, e.g. `3,141 cases in 60 s, 0 crashes, max 12 ms CPU`. */
  readonly figure: string;
  /** What failed, one entry per problem (empty when `ok`). */
  readonly problems: readonly string[];
}

/** A reliability suite. */
export interface Suite {
  readonly id: string;
  readonly title: string;
  /** One sentence: what a pass proves. */
  readonly proves: string;
  run(profile: Profile): Promise<SuiteResult>;
}

/** The one line a run prints: `R5 manifest fuzzing: PASS — figure`. */
export function resultLine(result: SuiteResult): string {
  const head = `${result.id} ${result.title}: ${result.ok ? 'PASS' : 'FAIL'} — ${result.figure}`;
  return result.problems.length === 0 ? head : `${head}\n${result.problems.map((p) => `    ${p}`).join('\n')}`;
}

/** Builds a result: ok exactly when no problem was found. */
export function result(suite: Pick<Suite, 'id' | 'title'>, figure: string, problems: readonly string[]): SuiteResult {
  return { id: suite.id, title: suite.title, ok: problems.length === 0, figure, problems: problems.slice(0, 20) };
}

/** `12,345`. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `1.5 MiB`. */
export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
