import { fileURLToPath } from 'node:url';

/** Directories under {@link KV_WIT_DIR}, one per WIT package shipped. */
export const KV_WIT_PACKAGES = {
  /** `fermyon:spin@2.0.0` interface `key-value` */
  spinV2: 'spin-key-value@2.0.0',
  /** `fermyon:spin` (unversioned, Spin 1.x) interface `key-value` */
  spinLegacy: 'spin-unversioned',
  /** `wasi:keyvalue@0.2.0-draft2` interfaces `store`, `batch`, `atomics` */
  wasiKeyvalue: 'keyvalue-0.2.0-draft2',
} as const;

/** Absolute path of the package's `wit/` directory (also reachable as `@spinel/kv-wit/wit/*`). */
export const KV_WIT_DIR: string = fileURLToPath(new URL('../wit/', import.meta.url));
