import { UNVERSIONED, WASI_0_2, type InterfaceSpec, type VersionPattern } from '../../prepare/interface-set.js';
import { WASI_COMMON_INTERFACES, WASI_RC_INTERFACES, WASI_RC_VERSIONS, type WasiRc } from './rc-versions.js';

/** The versions of a WASI interface the host serves: every 0.2.x, and the release candidates that have it (rc-versions.ts). */
export function wasiVersions(name: string): VersionPattern[] {
  const rcs = (Object.keys(WASI_RC_INTERFACES) as WasiRc[]).filter((rc) => WASI_RC_INTERFACES[rc].includes(name)).map((rc) => WASI_RC_VERSIONS[rc]);
  return [WASI_0_2, ...rcs];
}

/**
 * The WASI 0.2 interfaces the base host serves to every component (implemented in `host.ts`).
 * Kept apart from the implementations so the main thread checks imports without loading them.
 */
export const WASI_INTERFACES: readonly InterfaceSpec[] = [...WASI_COMMON_INTERFACES, 'wasi:io/error']
  .map((name): InterfaceSpec => ({ name, versions: wasiVersions(name) }))
  .concat([
    // Only 0.2.0-rc-2023-10-18 had it; the rc adapter answers UTC.
    { name: 'wasi:clocks/timezone', versions: [WASI_RC_VERSIONS['rc-2023-10-18']] },
    // Spin 1's type-only interfaces: nothing to link, but components name them among their imports.
    { name: 'fermyon:spin/http-types', versions: [UNVERSIONED] },
    { name: 'fermyon:spin/redis-types', versions: [UNVERSIONED] },
    { name: 'fermyon:spin/rdbms-types', versions: [UNVERSIONED] },
  ]);
