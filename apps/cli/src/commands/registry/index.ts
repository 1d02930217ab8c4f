import type { Command } from '@oclif/core';

/** The `registry` commands, by oclif id. */
export const REGISTRY_COMMANDS: Record<string, Command.Class> = {};
