import type { Command } from '@oclif/core';
import { KvDelete } from './delete.js';
import { KvGet } from './get.js';
import { KvList } from './list.js';
import { KvSet } from './set.js';

/** The `kv` commands, by oclif id. */
export const KV_COMMANDS: Record<string, Command.Class> = {
  'kv:get': KvGet,
  'kv:set': KvSet,
  'kv:delete': KvDelete,
  'kv:list': KvList,
};
