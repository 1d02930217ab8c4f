import type { Command } from '@oclif/core';
import { Build } from './build.js';
import { Doctor } from './doctor.js';
import { Lock } from './lock.js';

/** The `manifest` commands, by oclif id. */
export const MANIFEST_COMMANDS: Record<string, Command.Class> = {
  lock: Lock,
  build: Build,
  doctor: Doctor,
};
