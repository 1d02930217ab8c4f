import type { Command } from '@oclif/core';
import { TemplatesInstall } from './install.js';
import { TemplatesList } from './list.js';
import { TemplatesUninstall } from './uninstall.js';
import { TemplatesUpgrade } from './upgrade.js';

/** The `templates` commands, by oclif id. */
export const TEMPLATES_COMMANDS: Record<string, Command.Class> = {
  'templates:install': TemplatesInstall,
  'templates:list': TemplatesList,
  'templates:uninstall': TemplatesUninstall,
  'templates:upgrade': TemplatesUpgrade,
};
