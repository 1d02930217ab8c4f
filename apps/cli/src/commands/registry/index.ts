import type { Command } from '@oclif/core';
import { RegistryPull } from './pull.js';
import { RegistryPush } from './push.js';
import { RegistryRun } from './run.js';

/** The `registry` commands, by oclif id (each also answers as `oci …`). */
export const REGISTRY_COMMANDS: Record<string, Command.Class> = {
  'registry:push': RegistryPush,
  'registry:pull': RegistryPull,
  'registry:run': RegistryRun,
};
