import { execute } from '@oclif/core';

/** Runs the CLI (`bin/run.js` calls this from the bundle, with its own URL so oclif finds package.json). */
export async function main(dir: string): Promise<void> {
  await execute({ dir });
}
