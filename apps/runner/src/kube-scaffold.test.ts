// `spinel kube scaffold` (the built CLI) against kubectl and the runner it deploys: the
// manifests go through `kubectl apply --dry-run=client` (with the discovery endpoint of
// test-kube.ts standing in for a cluster), every object validates against the Kubernetes
// schemas of kubernetes-models, and the runner, started with exactly the settings the
// manifests give it, answers the probes on the paths and port they name.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startRedis, startRegistry, type RedisServer, type TestRegistry } from '@spinel/test-utils';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeDiscovery, type KubeDiscovery } from './test-kube.js';
import { get, pushManifest, startRunner, waitForStatus, writeWatApp, type RunnerProcess } from './test-helpers.js';

const exec = promisify(execFile);
const CLI_BIN = join(dirname(createRequire(import.meta.url).resolve('@spinel/cli/package.json')), 'bin', 'run.js');

let registry: TestRegistry;
let redis: RedisServer;
let kube: KubeDiscovery;
let dir: string;
const runners: RunnerProcess[] = [];

async function spinel(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec(process.execPath, [CLI_BIN, ...args], { cwd: dir, env: { ...process.env, SPINEL_CACHE_DIR: join(dir, 'cli-cache') } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: unknown };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  ConfigMap: ConfigMap as never,
  Secret: Secret as never,
  Service: Service as never,
  Deployment: Deployment as never,
  HorizontalPodAutoscaler: HorizontalPodAutoscaler as never,
  PodDisruptionBudget: PodDisruptionBudget as never,
};

beforeAll(async () => {
  [registry, redis] = await Promise.all([startRegistry(), startRedis()]);
  dir = await mkdtemp(join(tmpdir(), 'spinel-kube-'));
  kube = await startKubeDiscovery(dir);
}, 120_000);

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  await kube?.stop();
  await registry?.stop();
  await redis?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('spinel kube scaffold', () => {
  it('writes manifests that kubectl applies (client dry run), that validate against the Kubernetes schemas, and whose probes are the runner\'s admin paths', async () => {
    const reference = `${registry.host}/runner/kube-app:v1`;
    await pushManifest(await writeWatApp(join(dir, 'app'), 'hello', 'kube-app'), reference);
    await writeFile(join(dir, 'motd.txt'), 'line one\nline two: yes\n');
    const out = join(dir, 'k8s');
    const scaffold = await spinel([
      'kube', 'scaffold', '--from', reference, '--replicas', '3', '--redis-url', redis.url,
      '--variable', 'greeting=hello', '--variable', 'motd=@motd.txt', '--variable', 'flag=yes',
      '--image-pull-secret', 'regcred', '--image', 'registry.example/spinel-runner:0.1.0', '--out', out, '--insecure',
    ]);
    expect(scaffold.stderr).toBe('');
    expect(scaffold.code).toBe(0);
    expect(scaffold.stdout).toContain(`kubectl apply -f ${out}`);
    const files = (await readdir(out)).sort();
    expect(files).toEqual(['configmap.yaml', 'deployment.yaml', 'hpa.yaml', 'pdb.yaml', 'runtime-config-secret.yaml', 'service.yaml', 'variables-secret.yaml']);
    expect((await stat(join(out, 'variables-secret.yaml'))).mode & 0o777).toBe(0o600);

    const applied = await kube.kubectl(['apply', '--dry-run=client', '--validate=false', '-f', out, '-o', 'json']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const list = JSON.parse(applied.stdout) as { kind: string; items: K8sObject[] };
    expect(list.items.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Secret', 'Service']);
    for (const object of list.items) {
      const Model = MODELS[object.kind];
      expect(Model, object.kind).toBeDefined();
      if (Model !== undefined) expect(() => new Model(object as never).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
    }
    const byKind = (kind: string, name?: string): K8sObject => {
      const found = list.items.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
      if (found === undefined) throw new Error(`no ${kind}`);
      return found;
    };

    const deployment = byKind('Deployment') as K8sObject & { spec: { replicas: number; template: { spec: PodSpec } } };
    type Probe = { httpGet: { path: string; port: string } };
    type PodSpec = {
      securityContext: Record<string, unknown>;
      imagePullSecrets: Array<{ name: string }>;
      containers: Array<{
        image: string;
        ports: Array<{ name: string; containerPort: number }>;
        livenessProbe: Probe;
        readinessProbe: Probe;
        startupProbe: Probe;
        resources: { requests: Record<string, string>; limits: Record<string, string> };
        securityContext: Record<string, unknown>;
        volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
        envFrom: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
        env: Array<{ name: string; value: string }>;
      }>;
      volumes: Array<{ name: string; emptyDir?: unknown; secret?: { secretName: string; items?: Array<{ key: string; path: string }> } }>;
    };
    expect(deployment.spec.replicas).toBe(3);
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    if (container === undefined) throw new Error('no container');
    expect(container.image).toBe('registry.example/spinel-runner:0.1.0');
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(container.resources.requests).toEqual({ cpu: '250m', memory: '256Mi' });
    expect(container.resources.limits).toEqual({ cpu: '2', memory: '1Gi' });
    const adminPort = container.ports.find((p) => p.name === 'admin')?.containerPort;
    expect(adminPort).toBe(9090);
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) expect(probe.httpGet.port).toBe('admin');
    // The writable paths are volumes (the root filesystem is read-only); the credentials are the pull secret.
    const mounts = Object.fromEntries(container.volumeMounts.map((m) => [m.mountPath, m.name]));
    const configMap = byKind('ConfigMap') as K8sObject & { data: Record<string, string> };
    expect(mounts[configMap.data['SPINEL_CACHE_DIR'] ?? '']).toBe('cache');
    expect(mounts[configMap.data['SPINEL_STATE_DIR'] ?? '']).toBe('state');
    expect(mounts['/tmp']).toBe('tmp');
    expect(pod.volumes.find((v) => v.name === 'registry-auth')?.secret).toEqual({ secretName: 'regcred', items: [{ key: '.dockerconfigjson', path: 'config.json' }] });
    expect(container.env).toEqual([{ name: 'DOCKER_CONFIG', value: '/var/run/secrets/spinel/registry' }]);
    expect(byKind('HorizontalPodAutoscaler')).toMatchObject({ spec: { minReplicas: 3, maxReplicas: 12, scaleTargetRef: { kind: 'Deployment', name: 'kube-app' } } });
    expect(byKind('PodDisruptionBudget')).toMatchObject({ spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'kube-app' } } } });
    expect(byKind('Service')).toMatchObject({ spec: { selector: { 'app.kubernetes.io/name': 'kube-app' }, ports: [{ port: 80, targetPort: 'http' }] } });
    const variables = byKind('Secret', 'kube-app-variables') as K8sObject & { stringData: Record<string, string> };
    expect(variables.stringData).toEqual({ SPIN_VARIABLE_GREETING: 'hello', SPIN_VARIABLE_MOTD: 'line one\nline two: yes\n', SPIN_VARIABLE_FLAG: 'yes' });
    const runtimeConfig = byKind('Secret', 'kube-app-runtime-config') as K8sObject & { stringData: Record<string, string> };
    expect(runtimeConfig.stringData['runtime-config.toml']).toContain(`url = "${redis.url}"`);

    // The runner with the settings the manifests give it: the ConfigMap and Secrets as its
    // environment and files (addresses and writable paths moved into this test's directory).
    const runtimeConfigFile = join(dir, 'runtime-config.toml');
    await writeFile(runtimeConfigFile, runtimeConfig.stringData['runtime-config.toml'] ?? '');
    const env: Record<string, string> = {
      ...configMap.data,
      ...variables.stringData,
      SPINEL_CACHE_DIR: join(dir, 'cache'),
      SPINEL_STATE_DIR: join(dir, 'state'),
      SPINEL_RUNTIME_CONFIG_FILE: runtimeConfigFile,
      DOCKER_CONFIG: join(dir, 'no-docker'),
    };
    // startRunner passes loopback --listen/--admin-listen flags, which win over SPINEL_LISTEN/SPINEL_ADMIN_LISTEN.
    const runner = startRunner([], env);
    runners.push(runner);
    const admin = await runner.adminUrl();
    await waitForStatus(`${admin}${container.readinessProbe.httpGet.path}`, 200);
    expect((await get(`${admin}${container.startupProbe.httpGet.path}`)).status).toBe(200);
    expect((await get(`${admin}${container.livenessProbe.httpGet.path}`)).status).toBe(200);
    const annotations = (deployment.spec.template as unknown as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
    expect((await get(`${admin}${annotations['prometheus.io/path']}`)).body).toContain('spinel_ready 1');
    expect((await get(`${await runner.appUrl()}/`)).body).toBe('hello from wat\n');
    expect(runner.events.find((e) => e.event === 'runner.started')?.watch_interval_ms).toBe(30_000);
  }, 600_000); // many CLI runs and kubectl: minutes on a loaded machine

  it('prints the same objects on stdout for `kubectl apply -f -`, pins a digest reference (no watching), and refuses what a cluster cannot use', async () => {
    const printed = await spinel(['kube', 'scaffold', '--from', `${registry.host}/runner/kube-app@sha256:${'a'.repeat(64)}`, '--replicas', '1', '--name', 'pinned']);
    expect(printed.code).toBe(0);
    expect(printed.stderr).toContain('spinel-runner:latest');
    const applied = await kube.kubectl(['apply', '--dry-run=client', '--validate=false', '-f', '-'], printed.stdout);
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim().split('\n').sort()).toEqual([
      'configmap/pinned-runner created (dry run)',
      'deployment.apps/pinned created (dry run)',
      'horizontalpodautoscaler.autoscaling/pinned created (dry run)',
      'poddisruptionbudget.policy/pinned created (dry run)',
      'secret/pinned-runtime-config created (dry run)',
      'service/pinned created (dry run)',
    ]);
    expect(printed.stdout).toContain('SPINEL_WATCH_INTERVAL: "0"');
    expect(printed.stdout).toMatch(/minAvailable: 1/);

    const refusals: Array<[string[], RegExp]> = [
      [['--from', 'oci:./layout:v1'], /local OCI layout; a cluster pulls from a registry/],
      [['--from', 'Not A Reference!'], /Code: OCI_INVALID_REFERENCE/],
      [['--from', 'r.example/a:1', '--name', 'Bad_Name'], /--name 'Bad_Name' is not a Kubernetes name/],
      [['--from', 'r.example/a:1', '--variable', 'Greeting=x'], /--variable 'Greeting'/],
      [['--from', 'r.example/a:1', '--variable', 'x=@missing.txt'], /cannot read/],
      [['--from', 'r.example/a:1', '--redis-url', 'http://redis:6379'], /must start with redis:\/\//],
      [['--from', 'r.example/a:1', '--redis-url', 'redis://u:hunter2@'], /redis:\/\//],
      [['--from', 'r.example/a:1', '--memory-limit', 'lots'], /--memory-limit 'lots' is not a Kubernetes quantity/],
      [['--from', 'r.example/a:1', '--replicas', '4', '--max-replicas', '2'], /--max-replicas 2 is below --replicas 4/],
    ];
    for (const [args, message] of refusals) {
      const result = await spinel(['kube', 'scaffold', ...args]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr).not.toContain('hunter2');
    }
  }, 600_000);
});

// Keep the YAML honest about the runtime config: it must read back as TOML with the URL.
describe('scaffold output files', () => {
  it('keep the runtime config a literal block', async () => {
    const text = await readFile(join(dir, 'k8s', 'runtime-config-secret.yaml'), 'utf8');
    expect(text).toContain('  runtime-config.toml: |\n    # The default key-value store, shared by every replica through Redis.\n    [key_value_store.default]\n');
  });
});
