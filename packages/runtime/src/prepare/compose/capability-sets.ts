/**
 * Which host interfaces belong to each configuration a dependency can inherit, as Spin lists them
 * (`crates/capabilities/src/lib.rs`): an import of a dependency that matches one of these and is
 * not inherited is satisfied by a deny adapter instead of the host.
 */
import type { InheritConfiguration } from '@spinel/manifest';

/** The inheritable configurations and their interfaces. */
export const CAPABILITY_SETS: Readonly<Record<string, readonly string[]>> = {
  ai_models: ['fermyon:spin/llm', 'fermyon:spin/llm@2.0.0'],
  allowed_outbound_hosts: [
    'fermyon:spin/http',
    'fermyon:spin/mysql',
    'fermyon:spin/postgres',
    'fermyon:spin/redis',
    'fermyon:spin/mqtt@2.0.0',
    'fermyon:spin/mysql@2.0.0',
    'fermyon:spin/postgres@2.0.0',
    'fermyon:spin/redis@2.0.0',
    'spin:mqtt/mqtt@3.0.0',
    'spin:mysql/mysql@3.0.0',
    'spin:postgres/postgres@3.0.0',
    'spin:postgres/postgres@4.2.0',
    'spin:redis/redis@3.0.0',
    'wasi:http/client@0.3.0',
    'wasi:http/client@0.3.0-rc-2026-03-15',
    'wasi:http/outgoing-handler@0.2.6',
    'wasi:sockets/ip-name-lookup@0.2.6',
    'wasi:sockets/ip-name-lookup@0.3.0',
    'wasi:sockets/ip-name-lookup@0.3.0-rc-2026-03-15',
    'wasi:sockets/tcp-create-socket@0.2.6',
    'wasi:sockets/tcp@0.2.6',
    'wasi:sockets/udp-create-socket@0.2.6',
    'wasi:sockets/udp@0.2.6',
  ],
  environment: ['wasi:cli/environment@0.2.6', 'wasi:cli/environment@0.3.0', 'wasi:cli/environment@0.3.0-rc-2026-03-15'],
  files: ['wasi:filesystem/preopens@0.2.6', 'wasi:filesystem/preopens@0.3.0', 'wasi:filesystem/preopens@0.3.0-rc-2026-03-15'],
  key_value_stores: ['fermyon:spin/key-value', 'fermyon:spin/key-value@2.0.0', 'spin:key-value/key-value@3.0.0', 'wasi:keyvalue/store@0.2.0-draft2'],
  sqlite_databases: ['fermyon:spin/sqlite', 'fermyon:spin/sqlite@2.0.0', 'spin:sqlite/sqlite@3.1.0'],
  variables: ['fermyon:spin/config', 'fermyon:spin/variables@2.0.0', 'spin:variables/variables@3.0.0', 'wasi:config/store@0.2.0-draft-2024-09-27'],
};

function splitVersion(name: string): [string, string | undefined] {
  const at = name.lastIndexOf('@');
  return at === -1 ? [name, undefined] : [name.slice(0, at), name.slice(at + 1)];
}

/**
 * Whether two interface names differ only by semver-compatible versions (as wac's
 * `are_semver_compatible`: same major; for 0.x the same minor; for 0.0.x the same patch;
 * pre-release versions only match themselves).
 */
export function semverCompatible(a: string, b: string): boolean {
  const [na, va] = splitVersion(a);
  const [nb, vb] = splitVersion(b);
  if (na !== nb) return false;
  if (va === undefined || vb === undefined) return va === vb;
  if (va.includes('-') || vb.includes('-')) return va === vb;
  const [ma = '', mi = '', pa = ''] = va.split('.');
  const [mb = '', mj = '', pb = ''] = vb.split('.');
  if (ma !== mb) return false;
  if (ma !== '0') return true;
  if (mi !== mj) return false;
  return mi !== '0' || pa === pb;
}

/** The deny-set entry an import falls under (exact name, else semver-compatible), if any. */
export function deniableEntry(importName: string): { set: string; entry: string } | undefined {
  for (const [set, names] of Object.entries(CAPABILITY_SETS)) {
    if (names.includes(importName)) return { set, entry: importName };
  }
  for (const [set, names] of Object.entries(CAPABILITY_SETS)) {
    const entry = names.find((n) => semverCompatible(n, importName));
    if (entry !== undefined) return { set, entry };
  }
  return undefined;
}

/** Whether a dependency inheriting `inherit` keeps the import `importName` from the host. */
export function inherits(inherit: InheritConfiguration | undefined, importName: string): boolean {
  const entry = deniableEntry(importName);
  if (entry === undefined) return true;
  if (inherit === 'All') return true;
  if (inherit === undefined) return false;
  return inherit.Some.includes(entry.set);
}
