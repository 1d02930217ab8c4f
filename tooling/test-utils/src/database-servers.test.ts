import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { postgresBinDir, startPostgres } from './postgres.js';
import { startMariaDb } from './mariadb.js';
import { startMosquitto } from './mosquitto.js';

const run = promisify(execFile);

/** CONNACK return code of a raw MQTT 3.1.1 CONNECT with a username and password. */
function mqttConnect(port: number, username: string, password: string): Promise<number> {
  const str = (s: string): Buffer => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 30]), str('probe'), str(username), str(password)]);
  const packet = Buffer.concat([Buffer.from([0x10, body.length]), body]);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(packet));
    socket.once('data', (data: Buffer) => {
      socket.destroy();
      if (data[0] !== 0x20) reject(new Error(`not a CONNACK: ${data.toString('hex')}`));
      else resolve(data[3] ?? -1);
    });
    socket.once('error', reject);
  });
}

describe('database and broker servers', () => {
  it('starts PostgreSQL with password logins over TCP and removes its directory', async () => {
    const pg = await startPostgres();
    try {
      const psql = join(postgresBinDir() ?? '', 'psql');
      const query = (password: string) =>
        run(existsSync(psql) ? psql : 'psql', ['-h', '127.0.0.1', '-p', String(pg.port), '-U', pg.user, '-d', pg.database, '-tAc', 'SELECT 40 + 2'], {
          env: { PGPASSWORD: password, PATH: process.env['PATH'] ?? '' },
        });
      expect((await query(pg.password)).stdout.trim()).toBe('42');
      await expect(query('wrong')).rejects.toThrow(/password authentication failed/);
    } finally {
      await pg.stop();
    }
  }, 60_000);

  it('starts MariaDB with a password account and no anonymous users', async () => {
    const db = await startMariaDb();
    try {
      expect((await db.sql("SELECT COUNT(*) FROM mysql.user WHERE User=''")).trim()).toBe('0');
      const login = (password: string) =>
        run('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(db.port), '-u', db.user, `-p${password}`, db.database, '--batch', '--skip-column-names', '-e', 'SELECT CURRENT_USER()']);
      expect((await login(db.password)).stdout.trim()).toBe(`${db.user}@%`);
      await expect(login('wrong')).rejects.toThrow(/Access denied/);
    } finally {
      await db.stop();
    }
  }, 90_000);

  it('starts mosquitto with a password file', async () => {
    const broker = await startMosquitto({ users: { alice: 'secret' } });
    try {
      expect(await mqttConnect(broker.port, 'alice', 'secret')).toBe(0);
      expect(await mqttConnect(broker.port, 'alice', 'wrong')).toBe(5); // not authorized
    } finally {
      await broker.stop();
    }
  });
});
