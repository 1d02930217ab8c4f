import type { Command } from '@oclif/core';
import { Up } from './up.js';

/** The `up` commands, by oclif id. */
export const UP_COMMANDS: Record<string, Command.Class> = {
  up: Up,
};
