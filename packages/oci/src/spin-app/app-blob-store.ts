/** Directory a blob belongs in: Wasm (components, dependencies) or data (files, archives). */
export type AppBlobKind = 'wasm' | 'data';

/** Where Spin keeps a pulled reference's `manifest.json` and `config.json` (`<registry>/<repository>/<tag or latest>`). */
export interface SpinCacheLocation {
  registry: string;
  repository: string;
  tag?: string;
}

/**
 * The content-addressed store a pulled app goes into. `openCache()` of `@spinel/cache`
 * is one (Spin's cache layout); anything with these methods works.
 */
export interface AppBlobStore {
  /** Where a stored blob is and its size, or undefined when it is not stored. */
  stat(digest: string): Promise<{ path: string; size: number } | undefined>;
  /**
   * Stores a stream under its digest; it must check the digest (and `size`) before the blob
   * becomes visible, and store nothing when they are wrong.
   */
  putStream(
    digest: string,
    source: AsyncIterable<Uint8Array>,
    options: { kind: AppBlobKind; size?: number; signal?: AbortSignal; source?: string },
  ): Promise<{ path: string }>;
  /** Stores bytes under their digest, checked likewise. */
  putBytes(digest: string, bytes: Uint8Array, options: { kind: AppBlobKind }): Promise<{ path: string }>;
  /**
   * Removes a blob. Unpacking removes one whose content no longer matches its digest, so the
   * next pull fetches it again instead of finding it stored.
   */
  remove?(digest: string): Promise<unknown>;
  /**
   * Reads a reference's `manifest.json` and `config.json`. With {@link AppBlobStore.writeManifest},
   * lets a pull keep the locked app where Spin keeps it and skip fetching it again.
   */
  readManifest?(location: SpinCacheLocation): Promise<{ manifest: Uint8Array; config?: Uint8Array } | undefined>;
  /** Writes a reference's `manifest.json` and `config.json` (the locked app, as Spin leaves it). */
  writeManifest?(location: SpinCacheLocation, files: { manifest: Uint8Array; config?: Uint8Array }): Promise<unknown>;
}
