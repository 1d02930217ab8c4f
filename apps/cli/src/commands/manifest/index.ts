import type { Command } from '@oclif/core';

/** The `manifest` commands, by oclif id. */
export const MANIFEST_COMMANDS: Record<string, Command.Class> = {};
