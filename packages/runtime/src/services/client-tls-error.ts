/** A `[[client_tls]]` file cannot be used (unreadable, not PEM, key not matching its certificate, no roots). Code `RUNTIME_CLIENT_TLS`. */
export class ClientTlsError extends Error {
  readonly code = 'RUNTIME_CLIENT_TLS' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClientTlsError';
  }
}
