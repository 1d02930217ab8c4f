import { Flags } from '@oclif/core';

/** `--max-source-size`: the largest component or dependency source read (`512M`, `2G`). */
export const maxSourceSizeFlag = Flags.string({
  description: 'Largest component or dependency source read, e.g. 512M or 2G (devices, pipes and sockets are always refused). Default: 512M.',
  env: 'SPINEL_MAX_SOURCE_SIZE',
});

/** `--max-file-size`: the largest single file of a component's `files` read. */
export const maxFileSizeFlag = Flags.string({
  description: 'Largest single file of a component\'s files read, e.g. 1G. Default: 1G.',
  env: 'SPINEL_MAX_FILE_SIZE',
});

/** The `maxSourceBytes` / `maxFileBytes` options the flags ask for (none when not given). */
export async function sizeLimits(flags: { 'max-source-size'?: string | undefined; 'max-file-size'?: string | undefined }): Promise<{
  maxSourceBytes?: number;
  maxFileBytes?: number;
}> {
  const { parseSize } = await import('@spinel/cache');
  const out: { maxSourceBytes?: number; maxFileBytes?: number } = {};
  if (flags['max-source-size'] !== undefined) out.maxSourceBytes = parseSize(flags['max-source-size']);
  if (flags['max-file-size'] !== undefined) out.maxFileBytes = parseSize(flags['max-file-size']);
  return out;
}
