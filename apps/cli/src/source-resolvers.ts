import type { Cache } from '@spinel/cache';
import type { RegistryResolver, SourceResolver } from '@spinel/manifest';
import { cacheRootFrom } from './cache-root.js';
import { clientOptions } from './commands/registry/app-flags.js';
import { CliError } from './errors.js';

/**
 * How locking fetches remote sources, through the cache: URL + digest sources
 * (`<cache-dir>/registry/wasm/<digest>`, as Spin lays it out) and registry packages, pulled as
 * wasm OCI artifacts (`<registry>/<namespace>/<name>:<version>`) with the registry credentials
 * `spinel registry login` and Docker keep. Nothing is opened until a source needs it.
 */
export function sourceResolvers(cacheDir: string | undefined, insecure: boolean): { resolver: SourceResolver; registryResolver: RegistryResolver } {
  let opened: Promise<Cache> | undefined;
  const cache = (): Promise<Cache> =>
    (opened ??= (async () => {
      const { openCache } = await import('@spinel/cache');
      return openCache({ root: await cacheRootFrom(cacheDir) });
    })());
  return {
    resolver: async (url, digest) => {
      const { createUrlResolver } = await import('@spinel/cache');
      return createUrlResolver({ cache: await cache() })(url, digest);
    },
    registryResolver: async (request) => {
      if (request.registry === undefined) {
        // Spin falls back to wasm-pkg's configured default registry; spinel has none.
        throw new CliError('CLI_NO_DEFAULT_REGISTRY', `No default registry specified for package ${request.package}: set \`registry\` for it in spin.toml.`);
      }
      const { pullWasmPackage } = await import('@spinel/oci');
      const pulled = await pullWasmPackage({ registry: request.registry, package: request.package, version: request.version, store: await cache(), clientOptions: await clientOptions(insecure) });
      return { path: pulled.path };
    },
  };
}
