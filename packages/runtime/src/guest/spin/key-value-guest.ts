/**
 * Worker half of the key-value capability: opens the worker's SQLite stores (Redis labels go over
 * the blocking channel) and gives each component the stores it lists, with handles scoped to one
 * request.
 */
import type { CreateGuestCapability, GuestCapability } from '../../capability.js';
import type { InstanceContext } from '../host-registry.js';
import type { KeyValueGuestInit } from '../../services/key-value-capability.js';
import { createInstanceKvHost, openWorkerKvStores } from './key-value.js';
import { createRequestScopedKv, type RequestScopedKv } from './request-scoped-kv.js';

export const createGuestCapability: CreateGuestCapability = (raw, { channel }): GuestCapability => {
  const init = raw as KeyValueGuestInit;
  const stores = openWorkerKvStores(init.stores, channel, { labels: init.countedLabels, counts: init.counts });
  const labels = new Map(init.labels);
  const scoped = new WeakMap<InstanceContext, RequestScopedKv>();
  return {
    imports(ctx) {
      const kv = createRequestScopedKv(() => createInstanceKvHost(stores, labels.get(ctx.componentId) ?? []));
      scoped.set(ctx, kv);
      return kv.imports;
    },
    beginRequest: (ctx) => scoped.get(ctx)?.begin(),
    endRequest: (ctx) => scoped.get(ctx)?.end(),
    close: () => stores.close(),
  };
};
