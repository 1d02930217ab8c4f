/** A runtime-config variables provider could not be asked (unreachable Vault, refused token, unreadable dotenv file). Code `RUNTIME_VARIABLE_PROVIDER`. */
export class VariablesProviderError extends Error {
  readonly code = 'RUNTIME_VARIABLE_PROVIDER' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VariablesProviderError';
  }
}
