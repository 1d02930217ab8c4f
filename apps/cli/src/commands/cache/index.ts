import type { Command } from '@oclif/core';
import { CacheClean } from './clean.js';
import { CacheDir } from './dir.js';
import { CacheList } from './list.js';
import { CachePrune } from './prune.js';
import { CacheSize } from './size.js';
import { CacheVerify } from './verify.js';

/** The `cache` commands, by oclif id. */
export const CACHE_COMMANDS: Record<string, Command.Class> = {
  'cache:dir': CacheDir,
  'cache:list': CacheList,
  'cache:size': CacheSize,
  'cache:verify': CacheVerify,
  'cache:prune': CachePrune,
  'cache:clean': CacheClean,
};
