import type { Command } from '@oclif/core';

/** The `up` commands, by oclif id. */
export const UP_COMMANDS: Record<string, Command.Class> = {};
