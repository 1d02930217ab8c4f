import type { Command } from '@oclif/core';
import { Add } from './add.js';
import { New } from './new.js';

/** `new` and `add`, by oclif id. */
export const NEW_COMMANDS: Record<string, Command.Class> = {
  new: New,
  add: Add,
};
