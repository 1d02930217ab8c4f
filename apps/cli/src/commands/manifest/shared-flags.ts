import { Flags } from '@oclif/core';

/** `-f/--from` (alias `--file`): a manifest or a directory containing `spin.toml`. */
export const fromFlag = Flags.string({
  char: 'f',
  aliases: ['file'],
  description: 'The manifest (spin.toml) or a directory containing one. Default: spin.toml in the current directory or a parent.',
});

/** `--profile`: a build profile defined by `[component.x.profile.<name>]`. */
export const profileFlag = Flags.string({
  description: 'Build profile to apply (components without it use their defaults).',
});

/** Prints manifest warnings the way diagnostics are printed: `path:line:column: warning: message`. */
export function formatWarning(path: string, w: { code: string; message: string; line?: number; column?: number }): string {
  const where = [path, w.line, w.column].filter((v) => v !== undefined).join(':');
  return `${where}: warning[${w.code}]: ${w.message}`;
}
