// Test helper: what kubectl needs to run `apply --dry-run=client` without a cluster. Even a
// client-side dry run maps each object's apiVersion/kind to a resource through the API
// server's discovery documents and GETs the live object to compute the apply. No Kubernetes
// API server can run here, so this serves exactly that: discovery for the groups the
// scaffold uses (as a real server lists them: an unknown kind or version fails as it would
// against a cluster) and 404 for every object (nothing exists yet). It accepts no writes.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const resource = (name: string, kind: string): Record<string, unknown> => ({ name, singularName: kind.toLowerCase(), namespaced: true, kind, verbs: VERBS });
const GROUPS: Record<string, Array<Record<string, unknown>>> = {
  v1: [resource('configmaps', 'ConfigMap'), resource('secrets', 'Secret'), resource('services', 'Service'), resource('pods', 'Pod'), resource('serviceaccounts', 'ServiceAccount')],
  'apps/v1': [resource('deployments', 'Deployment'), resource('statefulsets', 'StatefulSet'), resource('daemonsets', 'DaemonSet'), resource('replicasets', 'ReplicaSet')],
  'autoscaling/v2': [resource('horizontalpodautoscalers', 'HorizontalPodAutoscaler')],
  'policy/v1': [resource('poddisruptionbudgets', 'PodDisruptionBudget')],
};

/** A discovery endpoint and a kubeconfig pointing at it. */
export interface KubeDiscovery {
  kubeconfig: string;
  /** Runs kubectl with that kubeconfig; never throws: the exit code is returned. */
  kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Starts the discovery endpoint on a free loopback port and writes a kubeconfig into `dir`. */
export async function startKubeDiscovery(dir: string): Promise<KubeDiscovery> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'MethodNotAllowed', code: 405 });
    if (path === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0' });
    if (path === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (path === '/apis') {
      const groups = Object.keys(GROUPS)
        .filter((gv) => gv.includes('/'))
        .map((gv) => {
          const [group, version] = gv.split('/') as [string, string];
          return { name: group, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
        });
      return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const gv = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : undefined;
    const resources = gv === undefined ? undefined : GROUPS[gv];
    if (resources !== undefined) return send(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources });
    send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: discovery\n  cluster:\n    server: http://127.0.0.1:${port}\ncontexts:\n- name: discovery\n  context:\n    cluster: discovery\n    namespace: default\ncurrent-context: discovery\nusers: []\n`,
  );
  return {
    kubeconfig,
    async kubectl(args, input) {
      const env = { PATH: process.env['PATH'], HOME: dir, KUBECONFIG: kubeconfig };
      if (input === undefined) {
        return exec('kubectl', args, { env, maxBuffer: 16 * 1024 * 1024 }).then(
          ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
          (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
        );
      }
      return new Promise((resolve) => {
        const child = execFile('kubectl', args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
          resolve({ code, stdout, stderr });
        });
        child.stdin?.end(input);
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
