import { describe, expect, it } from 'vitest';
import { readOutboundServicesConfig } from './outbound-runtime-config.js';
import { parsePgConnectionString } from './pg-connection-string.js';
import { redactAddress } from './outbound-address.js';
import { LimitedSemaphore } from './connection-limit.js';

describe('outbound services runtime config', () => {
  it("reads Spin's tables and max_total_connections", () => {
    expect(
      readOutboundServicesConfig({
        outbound_redis: { max_connections: 3 },
        outbound_pg: { max_connections: 4 },
        outbound_mysql: {},
        outbound_mqtt: { max_connections: 5, max_payload_size_bytes: 1024 },
        outbound_networking: { block_networks: [], max_total_connections: 9 },
      }),
    ).toEqual({ redis: { maxConnections: 3 }, pg: { maxConnections: 4 }, mysql: {}, mqtt: { maxConnections: 5, maxPayloadSizeBytes: 1024 }, maxTotalConnections: 9 });
    expect(readOutboundServicesConfig(undefined)).toEqual({ redis: {}, pg: {}, mysql: {}, mqtt: {} });
  });

  it('refuses unknown keys and bad values with the table named', () => {
    expect(() => readOutboundServicesConfig({ outbound_pg: { max_conections: 3 } })).toThrow(/unknown key `max_conections` in \[outbound_pg\]: expected `max_connections`/);
    expect(() => readOutboundServicesConfig({ outbound_redis: { max_connections: 0 } })).toThrow(expect.objectContaining({ code: 'RUNTIME_OUTBOUND_CONFIG' }));
    expect(() => readOutboundServicesConfig({ outbound_mqtt: { max_payload_size_bytes: 'big' } })).toThrow(/\[outbound_mqtt\] max_payload_size_bytes must be a whole number/);
    expect(() => readOutboundServicesConfig({ outbound_mysql: 'x' })).toThrow(/\[outbound_mysql\] must be a table/);
  });
});

describe('addresses', () => {
  it('parses PostgreSQL URLs and keyword strings as tokio-postgres does', () => {
    expect(parsePgConnectionString('postgresql://u:p%40ss@db1:5433,[::1]/app?sslmode=disable&application_name=x')).toEqual({
      hosts: [{ host: 'db1', port: 5433 }, { host: '::1', port: 5432 }],
      user: 'u', password: 'p@ss', dbname: 'app', sslmode: 'disable', applicationName: 'x',
    });
    expect(parsePgConnectionString("host=h port=1 user=u password='a b\\'c' dbname=d")).toEqual({ hosts: [{ host: 'h', port: 1 }], user: 'u', password: "a b'c", dbname: 'd', sslmode: 'prefer' });
    expect(() => parsePgConnectionString('postgres:///db')).toThrow(/names no host/);
    expect(() => parsePgConnectionString('host=h sslmode=sometimes')).toThrow(/unknown sslmode/);
  });

  it('redacts userinfo and password keywords', () => {
    expect(redactAddress('mysql://root:hunter2@db:3306/x')).toBe('mysql://db:3306/x');
    expect(redactAddress("host=h password='hunter 2' user=u")).not.toContain('hunter');
  });

  it('queues waiters for a permit in order', async () => {
    const sem = new LimitedSemaphore(1);
    await sem.acquire();
    const order: number[] = [];
    const a = sem.acquire().then(() => order.push(1));
    const b = sem.acquire().then(() => order.push(2));
    sem.release();
    await a;
    sem.release();
    await b;
    expect(order).toEqual([1, 2]);
  });
});
