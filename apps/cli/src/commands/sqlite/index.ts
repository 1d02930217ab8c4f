import type { Command } from '@oclif/core';
import { SqliteExec } from './exec.js';
import { SqliteQuery } from './query.js';

/** The `sqlite` commands, by oclif id. */
export const SQLITE_COMMANDS: Record<string, Command.Class> = {
  'sqlite:exec': SqliteExec,
  'sqlite:query': SqliteQuery,
};
