import type { Command } from '@oclif/core';
import { CACHE_COMMANDS } from './commands/cache/index.js';
import { KUBE_COMMANDS } from './commands/kube/index.js';
import { KV_COMMANDS } from './commands/kv/index.js';
import { MANIFEST_COMMANDS } from './commands/manifest/index.js';
import { NEW_COMMANDS } from './commands/new/index.js';
import { REGISTRY_COMMANDS } from './commands/registry/index.js';
import { SQLITE_COMMANDS } from './commands/sqlite/index.js';
import { TEMPLATES_COMMANDS } from './commands/templates/index.js';
import { UP_COMMANDS } from './commands/up/index.js';
import { WATCH_COMMANDS } from './commands/watch/index.js';

/**
 * Every command, by id (topics separated by `:`, shown with spaces).
 * oclif's explicit discovery reads this map: no directory scan at start-up. Each group
 * imports its libraries lazily inside `run`, so `spinel --help` stays fast.
 */
export const COMMANDS: Record<string, Command.Class> = {
  ...MANIFEST_COMMANDS,
  ...CACHE_COMMANDS,
  ...KV_COMMANDS,
  ...SQLITE_COMMANDS,
  ...REGISTRY_COMMANDS,
  ...UP_COMMANDS,
  ...KUBE_COMMANDS,
  ...NEW_COMMANDS,
  ...TEMPLATES_COMMANDS,
  ...WATCH_COMMANDS,
};
