/**
 * Runtime config `[[client_tls]]` (Spin's `crates/factor-outbound-networking/src/tls.rs`): for a
 * component and a host, which roots verify the server and which client certificate to present.
 * The first entry naming both wins; a request no entry covers uses the default trust.
 *
 * Node has one bundled root set (Mozilla's, which is also what webpki-roots carries), so
 * `ca_use_platform_roots` and `ca_use_webpki_roots` both mean "trust Node's default roots"
 * (`tls.rootCertificates`); Node 20 cannot read the operating system's store.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { ClientTlsError } from '../errors.js';

/** A `[[client_tls]]` entry as the runtime-config reader gives it (paths absolute). */
export interface ClientTlsConfig {
  componentIds: readonly string[];
  hosts: readonly string[];
  caUsePlatformRoots?: boolean;
  caUseWebpkiRoots?: boolean;
  caRootsFile?: string;
  clientCertFile?: string;
  clientPrivateKeyFile?: string;
}

/** TLS options for undici's `connect` (a subset of `tls.connect` options). */
export interface ClientTlsConnectOptions {
  /** Trusted roots (PEM); replaces Node's default set. */
  ca: string[];
  /** Client certificate chain (PEM). */
  cert?: string;
  /** Client private key (PEM). */
  key?: string;
}

/** The loaded `[[client_tls]]` entries. */
export interface ClientTls {
  /**
   * The settings for `componentId` talking to `host` (no port), or undefined for the default
   * trust. `id` is stable per entry, so connections can be pooled per settings.
   */
  forRequest(componentId: string, host: string): { id: number; connect: ClientTlsConnectOptions } | undefined;
  /** How many entries there are. */
  readonly size: number;
}

/**
 * Reads the certificate and key files of the entries and checks them (each certificate parses,
 * the key parses and belongs to the certificate), so a mistake stops the start, not a request.
 * @throws ClientTlsError `RUNTIME_CLIENT_TLS` naming the file (never its contents)
 */
export async function loadClientTls(configs: readonly ClientTlsConfig[], options: { readText?: (path: string) => Promise<string> } = {}): Promise<ClientTls> {
  const readText = options.readText ?? ((path: string) => readFile(path, 'utf8'));
  const read = async (path: string, what: string): Promise<string> => {
    try {
      return await readText(path);
    } catch (err) {
      throw new ClientTlsError(`[[client_tls]] ${what} ${JSON.stringify(path)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };
  const entries: Array<{ id: number; components: Set<string>; hosts: Set<string>; connect: ClientTlsConnectOptions }> = [];
  for (const [index, config] of configs.entries()) {
    const roots: string[] = [];
    if (config.caRootsFile !== undefined) roots.push(...certificates(await read(config.caRootsFile, 'ca_roots_file'), config.caRootsFile, 'ca_roots_file'));
    // Spin's defaults: platform roots unless explicit roots were given; webpki roots off.
    const platform = config.caUsePlatformRoots ?? (config.caUseWebpkiRoots === undefined ? config.caRootsFile === undefined : false);
    const webpki = config.caUseWebpkiRoots ?? false;
    if (!platform && !webpki && roots.length === 0) {
      throw new ClientTlsError(`[[client_tls]] entry ${index + 1} trusts no root: set ca_roots_file, or ca_use_platform_roots / ca_use_webpki_roots = true`);
    }
    const connect: ClientTlsConnectOptions = { ca: [...(platform || webpki ? rootCertificates : []), ...roots] };
    if (config.clientCertFile !== undefined && config.clientPrivateKeyFile !== undefined) {
      const cert = await read(config.clientCertFile, 'client_cert_file');
      const chain = certificates(cert, config.clientCertFile, 'client_cert_file');
      const key = await read(config.clientPrivateKeyFile, 'client_private_key_file');
      let keyObject;
      try {
        keyObject = createPrivateKey(key);
      } catch (err) {
        throw new ClientTlsError(`[[client_tls]] client_private_key_file ${JSON.stringify(config.clientPrivateKeyFile)} is not a PEM private key`, { cause: err });
      }
      if (!new X509Certificate(chain[0] as string).checkPrivateKey(keyObject)) {
        throw new ClientTlsError(`[[client_tls]] client_private_key_file ${JSON.stringify(config.clientPrivateKeyFile)} is not the key of client_cert_file ${JSON.stringify(config.clientCertFile)}`);
      }
      connect.cert = chain.join('\n');
      connect.key = key;
    }
    entries.push({ id: index, components: new Set(config.componentIds), hosts: new Set(config.hosts.map((h) => h.toLowerCase())), connect });
  }
  return {
    size: entries.length,
    forRequest(componentId, host) {
      const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
      const entry = entries.find((e) => e.components.has(componentId) && (e.hosts.has(name) || e.hosts.has(`[${name}]`)));
      return entry === undefined ? undefined : { id: entry.id, connect: entry.connect };
    },
  };
}

/** The PEM certificates in `text`, each checked. */
function certificates(text: string, path: string, what: string): string[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ClientTlsError(`[[client_tls]] ${what} ${JSON.stringify(path)} holds no PEM certificate`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new ClientTlsError(`[[client_tls]] ${what} ${JSON.stringify(path)} holds a certificate that cannot be parsed`, { cause: err });
    }
  }
  return blocks;
}
