import type { Command } from '@oclif/core';
import { KubeScaffold } from './scaffold.js';

/** The `kube` commands, by oclif id. */
export const KUBE_COMMANDS: Record<string, Command.Class> = {
  'kube:scaffold': KubeScaffold,
};
