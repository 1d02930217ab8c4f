import type { Command } from '@oclif/core';

/** The `cache` commands, by oclif id. */
export const CACHE_COMMANDS: Record<string, Command.Class> = {};
