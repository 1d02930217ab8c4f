import { randomBytes } from 'node:crypto';

/** Prefix of every temporary file or directory this package creates inside the cache. */
export const TEMP_PREFIX = '.spinel-tmp-';

/** A fresh temporary name; it carries the writer's pid so prune can tell abandoned ones. */
export function tempName(pid: number = process.pid): string {
  return `${TEMP_PREFIX}${pid}-${randomBytes(6).toString('hex')}`;
}

/** True for names made by {@link tempName}. */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** The pid recorded in a temporary name, if any. */
export function tempOwnerPid(name: string): number | undefined {
  const match = /^\.spinel-tmp-(\d+)-/.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
