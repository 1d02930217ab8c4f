export { COMMANDS } from './commands.js';
export { SpinelCommand } from './base-command.js';
export { renderError } from './render-error.js';
export type { RenderedError } from './render-error.js';
