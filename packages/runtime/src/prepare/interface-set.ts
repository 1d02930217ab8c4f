/**
 * Which imports an executor accepts at load: the base WASI host's interfaces plus those of the
 * capabilities it was given. Immutable and owned by one executor, so one executor's capabilities
 * never widen what another accepts.
 */

/** A version a {@link InterfaceSpec} accepts: exact (`2.0.0`), `''` for an unversioned import, or a pattern. */
export type VersionPattern = string | RegExp;

/** An interface a host serves: its name without version, and the versions it accepts. */
export interface InterfaceSpec {
  /** `wasi:http/outgoing-handler`, `fermyon:spin/key-value`. */
  readonly name: string;
  readonly versions: readonly VersionPattern[];
}

/** WASI 0.2.x: every patch release links to the same implementation. */
export const WASI_0_2: RegExp = /^0\.2\.\d+$/;
/** The version of an import named without one (Spin 1's `fermyon:spin/config`). */
export const UNVERSIONED = '';

/** `wasi:http/types@0.2.3` → `wasi:http/types` (the key jco's glue and the host registry use). */
export function interfaceKey(name: string): string {
  const at = name.indexOf('@');
  return at === -1 ? name : name.slice(0, at);
}

/** The interfaces one executor accepts. */
export class InterfaceSet {
  private readonly specs = new Map<string, readonly VersionPattern[]>();

  /** Later specs for the same name replace earlier ones (a capability replacing a WASI interface). */
  constructor(specs: Iterable<InterfaceSpec>) {
    for (const spec of specs) this.specs.set(spec.name, spec.versions);
  }

  /** Whether `name` (with or without `@version`) is served. */
  accepts(name: string): boolean {
    const versions = this.specs.get(interfaceKey(name));
    if (versions === undefined) return false;
    const at = name.indexOf('@');
    // A name whose version could not be recovered from the binary is judged by its name alone.
    if (at === -1) return true;
    const version = name.slice(at + 1);
    return versions.some((v) => (typeof v === 'string' ? v === version : v.test(version)));
  }

  /** The names among `imports` this set does not serve, in order. */
  unsupported(imports: readonly string[]): string[] {
    return imports.filter((name) => !this.accepts(name));
  }

  /** Interface names (without versions) served. */
  names(): string[] {
    return [...this.specs.keys()];
  }
}
