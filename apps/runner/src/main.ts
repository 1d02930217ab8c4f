/**
 * `spinel-runner`: the production host for an app from a registry (many replicas on
 * Kubernetes, Redis for shared state). Not built yet: until it is, it says so and exits
 * non-zero rather than pretending to serve.
 */
export async function main(argv: string[], stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    stderr.write('spinel-runner is not available yet. To serve an app from a registry today, run: spinel up -f <reference>\n');
    return 0;
  }
  stderr.write(
    'Error: spinel-runner is not available yet.\n' +
      'Hint: serve the app with `spinel up -f <reference>` (pulls it from the registry; --runtime-config-file can point key-value stores at Redis).\n' +
      'Code: RUNNER_NOT_IMPLEMENTED\n',
  );
  return 1;
}
