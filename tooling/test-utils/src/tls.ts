import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files of a throwaway certificate authority, a server certificate and a client certificate it signed. */
export interface TestPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing here (to show a root that does not verify). */
  otherCaCert: string;
}

/**
 * Makes a test PKI with `openssl` in `dir`: a CA, a server certificate for `serverNames`
 * (DNS names or IP addresses, as subjectAltName) and a client certificate with CN `clientName`,
 * both signed by the CA, plus an unrelated CA. RSA 2048, valid for two days.
 */
export async function createTestPki(dir: string, options: { serverNames?: string[]; clientName?: string } = {}): Promise<TestPki> {
  const names = options.serverNames ?? ['localhost', '127.0.0.1'];
  const file = (name: string): string => join(dir, name);
  const ca = async (prefix: string, cn: string): Promise<void> => {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${prefix}.key`), '-out', file(`${prefix}.pem`), '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  };
  await ca('ca', 'spinel-test-ca');
  await ca('other-ca', 'spinel-other-ca');
  const leaf = async (prefix: string, cn: string, ext: string): Promise<void> => {
    await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${prefix}.key`), '-out', file(`${prefix}.csr`), '-subj', `/CN=${cn}`]);
    await writeFile(file(`${prefix}.ext`), ext);
    await run('openssl', ['x509', '-req', '-in', file(`${prefix}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${prefix}.pem`), '-days', '2', '-extfile', file(`${prefix}.ext`)]);
  };
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  await leaf('server', names[0] ?? 'localhost', `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  await leaf('client', options.clientName ?? 'spinel-client', 'extendedKeyUsage=clientAuth\n');
  return {
    caCert: file('ca.pem'),
    caKey: file('ca.key'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    otherCaCert: file('other-ca.pem'),
  };
}
