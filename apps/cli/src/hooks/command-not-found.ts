import { Errors, type Hook } from '@oclif/core';
import { CliError } from '../errors.js';
import { renderError } from '../render-error.js';
import { nearest } from '../suggest.js';

/**
 * oclif's `command_not_found` hook: names the nearest known command (`spinel upp` → `up`,
 * `spinel cache dri` → `cache dir`) instead of only saying that there is no such command, then
 * exits with status 2 as Spin does for an unknown subcommand.
 */
export const commandNotFound: Hook.CommandNotFound = async function commandNotFound(options) {
  const separator = options.config.topicSeparator ?? ' ';
  const shown = (id: string): string => id.replaceAll(':', separator);
  const ids = [...options.config.commandIDs, ...options.config.topics.map((t) => t.name)];
  const guess = nearest(options.id, ids) ?? nearest(options.id.split(':').pop() ?? options.id, ids.filter((id) => !id.includes(':')));
  const error = new CliError('CLI_UNKNOWN_COMMAND', `'${shown(options.id)}' is not a spinel command${guess === undefined ? '' : `. Did you mean '${shown(guess)}'?`}`, {
    hint: `Run '${options.config.bin} --help' for the list of commands.`,
  });
  process.stderr.write(renderError(error).text);
  Errors.exit(2);
};
