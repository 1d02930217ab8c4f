/**
 * Semantic versions and version requirements as Rust's `semver` crate reads them (what Spin's
 * loader uses for `[component.<id>.dependencies]`): a bare `1.2.3` means `^1.2.3`; `^`, `~`, `=`,
 * `>`, `>=`, `<`, `<=` and `*` (also as `1.*`), comparators joined by commas. Pre-release
 * versions match only a comparator naming the same major.minor.patch with a pre-release.
 */

/** A parsed semantic version. */
export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly pre: string;
}

const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** A version, or undefined when `text` is not one. */
export function parseSemVer(text: string): SemVer | undefined {
  const m = VERSION.exec(text.trim());
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ?? '' };
}

function comparePre(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : undefined;
    const ny = /^\d+$/.test(y) ? Number(y) : undefined;
    if (nx !== undefined && ny !== undefined) {
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (nx !== undefined) return -1;
    else if (ny !== undefined) return 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Orders two versions (-1, 0, 1). */
export function compareSemVer(a: SemVer, b: SemVer): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return comparePre(a.pre, b.pre);
}

interface Comparator {
  readonly op: '=' | '>' | '>=' | '<' | '<=' | '^' | '~' | '*';
  readonly major: number | undefined;
  readonly minor: number | undefined;
  readonly patch: number | undefined;
  readonly pre: string;
}

const COMPARATOR = /^(=|>=|<=|>|<|\^|~)?\s*v?(\d+|\*|x|X)(?:\.(\d+|\*|x|X))?(?:\.(\d+|\*|x|X))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function part(text: string | undefined): number | undefined {
  return text === undefined || text === '*' || text === 'x' || text === 'X' ? undefined : Number(text);
}

/** A requirement's comparators, or undefined when `text` is not a requirement. */
export function parseRequirement(text: string): readonly Comparator[] | undefined {
  const t = text.trim();
  if (t === '*' || t === '') return [{ op: '*', major: undefined, minor: undefined, patch: undefined, pre: '' }];
  const out: Comparator[] = [];
  for (const piece of t.split(',')) {
    const m = COMPARATOR.exec(piece.trim());
    if (m === null) return undefined;
    const major = part(m[2]);
    if (major === undefined) {
      out.push({ op: '*', major: undefined, minor: undefined, patch: undefined, pre: '' });
      continue;
    }
    out.push({ op: (m[1] as Comparator['op'] | undefined) ?? '^', major, minor: part(m[3]), patch: part(m[4]), pre: m[5] ?? '' });
  }
  return out;
}

function matchesOne(c: Comparator, v: SemVer): boolean {
  if (c.op === '*' || c.major === undefined) return true;
  const lower: SemVer = { major: c.major, minor: c.minor ?? 0, patch: c.patch ?? 0, pre: c.pre };
  const cmp = compareSemVer(v, lower);
  switch (c.op) {
    case '=':
      if (c.minor === undefined) return v.major === c.major;
      if (c.patch === undefined) return v.major === c.major && v.minor === c.minor;
      return cmp === 0;
    case '>':
      if (c.minor === undefined) return v.major > c.major;
      if (c.patch === undefined) return v.major > c.major || (v.major === c.major && v.minor > c.minor);
      return cmp > 0;
    case '>=':
      return cmp >= 0;
    case '<':
      return cmp < 0;
    case '<=':
      if (c.minor === undefined) return v.major <= c.major;
      if (c.patch === undefined) return v.major < c.major || (v.major === c.major && v.minor <= c.minor);
      return cmp <= 0;
    case '~':
      if (cmp < 0) return false;
      if (c.minor === undefined) return v.major === c.major;
      return v.major === c.major && v.minor === c.minor;
    case '^':
      if (cmp < 0) return false;
      if (c.major > 0 || c.minor === undefined) return v.major === c.major;
      if (c.minor > 0 || c.patch === undefined) return v.major === 0 && v.minor === c.minor;
      return v.major === 0 && v.minor === 0 && v.patch === c.patch;
  }
}

/** Whether `version` satisfies every comparator of `requirement`. */
export function satisfies(version: SemVer, requirement: readonly Comparator[]): boolean {
  if (version.pre !== '') {
    // A pre-release matches only when a comparator names its exact major.minor.patch with a pre-release.
    const allowed = requirement.some((c) => c.pre !== '' && c.major === version.major && c.minor === version.minor && c.patch === version.patch);
    if (!allowed) return false;
  }
  return requirement.every((c) => matchesOne(c, version));
}
