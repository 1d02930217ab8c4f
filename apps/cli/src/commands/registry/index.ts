import type { Command } from '@oclif/core';
import { RegistryLogin } from './login.js';
import { RegistryLogout } from './logout.js';
import { RegistryPull } from './pull.js';
import { RegistryPush } from './push.js';
import { RegistryRun } from './run.js';

/** The `registry` commands, by oclif id (each also answers as `oci …`). */
export const REGISTRY_COMMANDS: Record<string, Command.Class> = {
  'registry:push': RegistryPush,
  'registry:pull': RegistryPull,
  'registry:run': RegistryRun,
  'registry:login': RegistryLogin,
  'registry:logout': RegistryLogout,
};
