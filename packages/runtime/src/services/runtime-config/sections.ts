/**
 * Every key a runtime-config file may have, with its type and checks (Spin's
 * `crates/runtime-config/src/lib.rs` and the factors' `runtime_config/spin.rs`). Anything not in
 * this table is refused at start, as Spin's `validate_all_keys_used` does.
 *
 * Adding a section is one entry here (its fields are read, checked, typed in camelCase and
 * described in the JSON schema from that entry), then `pnpm --filter @spinel/runtime schema`
 * to rewrite the shipped schema.
 */
import { isIP } from 'node:net';
import { kebabIdProblem } from '@spinel/manifest';
import { arrayOf, boolean, integer, labelled, path, string, stringArray, stringMap, table, tagged, unsupported, unsupportedSection } from './spec.js';

/** `private`, an address, or a CIDR (host bits may be set: Spin truncates them). */
function cidr(entry: string): string | undefined {
  if (entry === 'private') return undefined;
  const slash = entry.indexOf('/');
  const family = isIP(slash < 0 ? entry : entry.slice(0, slash));
  const prefix = slash < 0 ? '' : entry.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (family !== 0 && (slash < 0 || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max))) return undefined;
  return `${JSON.stringify(entry)} is not a network: use a CIDR such as "10.0.0.0/8" or "fd00::/8", or "private"`;
}

function httpUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return undefined;
  } catch {
    // Reported below.
  }
  return 'must be an http:// or https:// URL';
}

function redisUrl(text: string): string | undefined {
  // The URL may hold a password: the reason never repeats it.
  return /^rediss?:\/\/[^\s]*$/.test(text) ? undefined : 'must be a redis:// or rediss:// URL';
}

function tlsHost(host: string): string | undefined {
  let parsed: URL | undefined;
  try {
    parsed = new URL(`https://${host}`);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || host === '' || /[/?#@\s]/.test(host)) return `${JSON.stringify(host)} is not a host name`;
  if (parsed.port !== '' || /:\d*$/.test(host.replace(/^\[.*\]$/, ''))) return `${JSON.stringify(host)}: ports are not supported in client_tls hosts (as in Spin); give the host name only`;
  return undefined;
}

const componentId = string({
  check: (id) => {
    const problem = kebabIdProblem(id);
    return problem === undefined ? undefined : `${JSON.stringify(id)} is not a component id: ${problem}`;
  },
});

/** `[key_value_store.<label>]`: Spin's `spin` (SQLite) and `redis` store types. */
const keyValueStore = labelled(
  tagged({
    spin: table({ path: path({ relativeTo: 'config', description: 'SQLite file, relative to this file\'s directory; absent: in memory.' }) }),
    redis: table({ url: string({ secret: true, check: redisUrl, description: 'redis:// or rediss:// URL.' }) }, { required: ['url'] }),
    azure_cosmos: unsupported('Azure Cosmos DB key-value stores are not supported by Spinel; use type = "spin" (SQLite) or "redis"'),
    aws_dynamo: unsupported('AWS DynamoDB key-value stores are not supported by Spinel; use type = "spin" (SQLite) or "redis"'),
  }),
  { description: 'Key-value stores by label; `default` replaces the built-in one.' },
);

/** `[sqlite_database.<label>]`: Spin's in-process `spin` databases. */
const sqliteDatabase = labelled(
  tagged({
    spin: table({
      path: path({ relativeTo: 'cwd', description: 'Database file, relative to the working directory (as Spin); absent: in memory.' }),
      allow_attach_file: boolean({ description: 'Let guests ATTACH other database files (Spin\'s default: false).' }),
    }),
    libsql: unsupported('libSQL databases are not supported by Spinel (there is no libSQL server to test against); use type = "spin" with a `path`'),
  }),
  { description: 'SQLite databases by label; `default` replaces the built-in <state_dir>/sqlite_db.db.' },
);

/** `[[variables_provider]]` (old name `[[config_provider]]`): consulted in file order, after `--variable`. */
const variablesProviders = arrayOf(
  tagged({
    static: table({ values: stringMap({ secret: true, description: 'Variable values by name.' }) }, { required: ['values'] }),
    env: table({
      prefix: string({ description: 'Environment variable prefix, joined to the upper-cased name with `_`. Default: SPIN_VARIABLE.' }),
      dotenv_path: path({ relativeTo: 'cwd', description: 'A .env file read after the environment.' }),
    }),
    vault: table(
      {
        url: string({ check: httpUrl, description: 'Vault server URL.' }),
        token: string({ secret: true, nonEmpty: true, description: 'Vault token.' }),
        mount: string({ nonEmpty: true, description: 'Mount point of the KV v2 secrets engine.' }),
        prefix: string({ description: 'Path prefix of the secrets.' }),
      },
      { required: ['url', 'token', 'mount'] },
    ),
    azure_key_vault: unsupported('Azure Key Vault variables are not supported by Spinel; use type = "vault", "env" or "static"'),
  }),
  { description: 'Where variable values come from, in order, after --variable and before SPIN_VARIABLE_* and defaults.' },
);

/** `[[client_tls]]`: per component and host, the roots and client certificate for outbound HTTPS. */
const clientTls = arrayOf(
  table(
    {
      component_ids: stringArray({ nonEmpty: true, item: componentId, description: 'Components this applies to.' }),
      hosts: stringArray({ nonEmpty: true, item: string({ check: tlsHost }), description: 'Host names (no ports) this applies to.' }),
      ca_use_platform_roots: boolean({ description: 'Trust the default roots. Default: true unless ca_roots_file is given.' }),
      ca_use_webpki_roots: boolean({ description: 'Trust the Mozilla root set. Default: false.' }),
      ca_roots_file: path({ relativeTo: 'config', description: 'PEM file of extra trusted roots.' }),
      client_cert_file: path({ relativeTo: 'config', description: 'PEM client certificate chain (needs client_private_key_file).' }),
      client_private_key_file: path({ relativeTo: 'config', description: 'PEM private key of the client certificate.' }),
    },
    {
      required: ['component_ids', 'hosts'],
      check: (v) => {
        if (v.clientCertFile !== undefined && v.clientPrivateKeyFile === undefined) return [['client_cert_file', 'client_cert_file needs client_private_key_file']];
        if (v.clientCertFile === undefined && v.clientPrivateKeyFile !== undefined) return [['client_private_key_file', 'client_private_key_file needs client_cert_file']];
        return [];
      },
    },
  ),
  { description: 'TLS settings for outbound HTTPS by component and host; the first matching entry wins.' },
);

/** `max_connections` of an outbound service (Spin's factor-outbound-{redis,pg,mysql,mqtt}). */
function maxConnections(service: string) {
  return integer({ min: 1, description: `Most ${service} connections guests hold open at once; more opens wait for one to be dropped.` });
}

function serviceLimits(service: string) {
  return table({ max_connections: maxConnections(service) });
}

/** The runtime-config sections, keyed as in the file. */
export const RUNTIME_CONFIG_SECTIONS = {
  state_dir: path({ relativeTo: 'cwd', allowEmpty: true, description: 'State directory (default stores and logs); "" for none. --state-dir wins.' }),
  log_dir: path({ relativeTo: 'cwd', allowEmpty: true, description: 'Where component stdio logs go; "" for none. --log-dir wins.' }),
  max_instance_memory: integer({ min: 1, description: 'Bytes a guest\'s memory may grow to. --max-instance-memory wins.' }),
  key_value_store: keyValueStore,
  sqlite_database: sqliteDatabase,
  variables_provider: variablesProviders,
  config_provider: variablesProviders,
  llm_compute: unsupportedSection('LLM inferencing (fermyon:spin/llm) is not supported by Spinel; remove [llm_compute] and run components that use LLMs with Spin'),
  outbound_networking: table({
    block_networks: stringArray({ item: string({ check: cidr }), description: 'CIDRs, or "private", that outbound connections may not reach.' }),
    max_socket_connections: integer({ description: 'Most open outbound socket connections (wasi:sockets and service clients).' }),
    max_total_connections: integer({ description: 'Most open outbound connections of every kind together.' }),
  }),
  outbound_http: table(
    {
      connection_pooling: boolean({ description: 'Keep connections open for reuse. Default: true.' }),
      max_connections: integer({ description: 'Most outbound HTTP connections open at once; more requests wait. 0 allows none.' }),
      max_concurrent_requests: integer({ description: 'Deprecated (Spin): max_connections = this + 1.' }),
    },
    {
      check: (v) =>
        v.maxConnections !== undefined && v.maxConcurrentRequests !== undefined
          ? [['max_concurrent_requests', 'cannot set both `max_connections` and `max_concurrent_requests` in `[outbound_http]`; use `max_connections` only']]
          : [],
    },
  ),
  outbound_redis: serviceLimits('Redis'),
  outbound_pg: serviceLimits('PostgreSQL'),
  outbound_mysql: serviceLimits('MySQL'),
  outbound_mqtt: table({
    max_connections: maxConnections('MQTT'),
    max_payload_size_bytes: integer({ min: 1, description: 'Largest MQTT payload a guest may publish, in bytes.' }),
  }),
  client_tls: clientTls,
};
