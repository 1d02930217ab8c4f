import type { Command } from '@oclif/core';

/** The `kv` commands, by oclif id. */
export const KV_COMMANDS: Record<string, Command.Class> = {};
