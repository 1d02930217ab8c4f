import type { Command } from '@oclif/core';
import { Watch } from './watch.js';

/** `watch`, by oclif id. */
export const WATCH_COMMANDS: Record<string, Command.Class> = {
  watch: Watch,
};
