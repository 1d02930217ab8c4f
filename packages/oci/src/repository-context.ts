import type { RegistryTransport, SendOptions, TransportResponse } from './transport.js';
import type { LimitFunction } from 'p-limit';

/** Settings shared by every repository of one client. */
export interface RepositorySettings {
  /** Bounds blob downloads across the client. */
  pullLimit: LimitFunction;
  /** Bounds blob uploads across the client (separate, so a copy that pushes inside a pull never waits on itself). */
  pushLimit: LimitFunction;
  uploadMode: 'auto' | 'monolithic' | 'chunked';
  chunkSize: number;
  monolithicMaxBytes: number;
  maxManifestBytes: number;
}

/** One repository of a registry as the protocol functions see it. */
export interface RepositoryContext {
  readonly transport: RegistryTransport;
  readonly settings: RepositorySettings;
  readonly registry: string;
  readonly repository: string;
  /** `registry/repository`, for messages. */
  readonly description: string;
  /** Token scopes for reading (`repository:<name>:pull`). */
  readonly pullScopes: readonly string[];
  /** Token scopes for writing (`repository:<name>:pull,push`). */
  readonly pushScopes: readonly string[];
  send(options: Omit<SendOptions, 'registry'>): Promise<TransportResponse>;
}
