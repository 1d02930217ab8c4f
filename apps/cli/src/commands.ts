import type { Command } from '@oclif/core';

/**
 * Every command, by id (topics separated by `:`, shown with spaces).
 * oclif's explicit discovery reads this map: no directory scan at start-up.
 */
export const COMMANDS: Record<string, Command.Class> = {};
