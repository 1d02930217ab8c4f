/**
 * The Kubernetes objects that run one Spin app on `spinel-runner`: a Deployment (probes on the
 * runner's admin port, resources, a locked-down security context, writable volumes only for
 * the cache, the state and /tmp), a Service, a HorizontalPodAutoscaler, a PodDisruptionBudget,
 * a ConfigMap of runner settings and Secrets for app variables and the runtime config. Pure:
 * options in, objects out.
 */

/** The runner's admin port and paths (apps/runner: `ADMIN_PATHS`, `--admin-listen` default). */
export const RUNNER_ADMIN = { port: 9090, live: '/livez', ready: '/readyz', metrics: '/metrics' } as const;
/** The runner's app port (`--listen` default). */
export const RUNNER_HTTP_PORT = 3000;
/** Where the image keeps writable state; volumes are mounted there (deploy/Dockerfile). */
export const RUNNER_PATHS = { cache: '/var/cache/spinel', state: '/var/lib/spinel', tmp: '/tmp', config: '/etc/spinel', registryAuth: '/var/run/secrets/spinel/registry' } as const;
/** The non-root user of the image (deploy/Dockerfile). */
export const RUNNER_UID = 10001;

/** Options of {@link scaffoldManifests}. */
export interface ScaffoldOptions {
  /** The app's registry reference (a tag is followed, a digest is pinned). */
  from: string;
  /** Kubernetes name of every object (DNS-1123 label). */
  name: string;
  /** The spinel-runner image. */
  image: string;
  replicas: number;
  /** Most replicas the autoscaler may run. */
  maxReplicas: number;
  /** `redis://…`: the app's `default` key-value store becomes a Redis store shared by every replica. */
  redisUrl?: string;
  /** App variables, name → value (stored in a Secret, given as `SPIN_VARIABLE_<NAME>`). */
  variables: ReadonlyArray<[string, string]>;
  /** A `kubernetes.io/dockerconfigjson` Secret: pulls the runner image and gives the runner the app's registry credentials. */
  imagePullSecret?: string;
  /** Kubernetes namespace; none leaves it to `kubectl -n`. */
  namespace?: string;
  /** How often the runner checks the tag (runner `--watch-interval`). */
  watchInterval: string;
  /** Plain HTTP to the app's registry. */
  insecure: boolean;
  resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
  /** Runner `--shutdown-timeout`, seconds. */
  shutdownSeconds: number;
}

/** One object and the file it goes to with `--out`. */
export interface ScaffoldedObject {
  file: string;
  object: Record<string, unknown>;
}

/** The Kubernetes objects for an app, in the order `kubectl apply` should see them. */
export function scaffoldManifests(options: ScaffoldOptions): ScaffoldedObject[] {
  const { name } = options;
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'spin-app', 'app.kubernetes.io/managed-by': 'spinel' };
  const selector = { 'app.kubernetes.io/name': name };
  const meta = (suffix: string): Record<string, unknown> => ({
    name: `${name}${suffix}`,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    labels,
  });
  const preStopSeconds = 5;
  const out: ScaffoldedObject[] = [];

  const settings: Record<string, string> = {
    SPINEL_APP: options.from,
    SPINEL_LISTEN: `0.0.0.0:${RUNNER_HTTP_PORT}`,
    SPINEL_ADMIN_LISTEN: `0.0.0.0:${RUNNER_ADMIN.port}`,
    SPINEL_CACHE_DIR: RUNNER_PATHS.cache,
    SPINEL_STATE_DIR: RUNNER_PATHS.state,
    SPINEL_RUNTIME_CONFIG_FILE: `${RUNNER_PATHS.config}/runtime-config.toml`,
    SPINEL_WATCH_INTERVAL: options.watchInterval,
    SPINEL_SHUTDOWN_TIMEOUT: `${options.shutdownSeconds}s`,
    SPINEL_LOG_FORMAT: 'json',
  };
  if (options.insecure) settings['SPINEL_INSECURE'] = 'true';
  out.push({ file: 'configmap.yaml', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('-runner'), data: settings } });

  // The runtime config may hold a Redis password: a Secret, not a ConfigMap.
  const runtimeConfig =
    options.redisUrl === undefined
      ? '# Key-value stores: `default` is SQLite under SPINEL_STATE_DIR, one per replica (not shared).\n' +
        '# To share state between replicas, name Redis stores here, e.g.:\n' +
        '# [key_value_store.default]\n# type = "redis"\n# url = "redis://redis:6379"\n'
      : '# The default key-value store, shared by every replica through Redis.\n' +
        `[key_value_store.default]\ntype = "redis"\nurl = ${JSON.stringify(options.redisUrl)}\n`;
  out.push({ file: 'runtime-config-secret.yaml', object: { apiVersion: 'v1', kind: 'Secret', metadata: meta('-runtime-config'), type: 'Opaque', stringData: { 'runtime-config.toml': runtimeConfig } } });

  if (options.variables.length > 0) {
    out.push({
      file: 'variables-secret.yaml',
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: meta('-variables'),
        type: 'Opaque',
        stringData: Object.fromEntries(options.variables.map(([k, v]) => [`SPIN_VARIABLE_${k.toUpperCase()}`, v])),
      },
    });
  }

  const volumes: Array<Record<string, unknown>> = [
    { name: 'cache', emptyDir: { sizeLimit: '2Gi' } },
    { name: 'state', emptyDir: { sizeLimit: '1Gi' } },
    { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
    { name: 'runtime-config', secret: { secretName: `${name}-runtime-config` } },
  ];
  const mounts: Array<Record<string, unknown>> = [
    { name: 'cache', mountPath: RUNNER_PATHS.cache },
    { name: 'state', mountPath: RUNNER_PATHS.state },
    { name: 'tmp', mountPath: RUNNER_PATHS.tmp },
    { name: 'runtime-config', mountPath: RUNNER_PATHS.config, readOnly: true },
  ];
  const env: Array<Record<string, unknown>> = [];
  if (options.imagePullSecret !== undefined) {
    // The pull secret's .dockerconfigjson is Docker's config.json: the runner reads it from $DOCKER_CONFIG.
    volumes.push({ name: 'registry-auth', secret: { secretName: options.imagePullSecret, items: [{ key: '.dockerconfigjson', path: 'config.json' }] } });
    mounts.push({ name: 'registry-auth', mountPath: RUNNER_PATHS.registryAuth, readOnly: true });
    env.push({ name: 'DOCKER_CONFIG', value: RUNNER_PATHS.registryAuth });
  }
  const envFrom: Array<Record<string, unknown>> = [{ configMapRef: { name: `${name}-runner` } }];
  if (options.variables.length > 0) envFrom.push({ secretRef: { name: `${name}-variables` } });

  const probe = (path: string, period: number, failures: number): Record<string, unknown> => ({
    httpGet: { path, port: 'admin' },
    periodSeconds: period,
    timeoutSeconds: 2,
    failureThreshold: failures,
  });
  out.push({
    file: 'deployment.yaml',
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(''),
      spec: {
        replicas: options.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        // A new pod must be ready before an old one goes: rollouts never drop capacity.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: {
            labels,
            annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(RUNNER_ADMIN.port), 'prometheus.io/path': RUNNER_ADMIN.metrics },
          },
          spec: {
            automountServiceAccountToken: false,
            // preStop waits while the endpoint is removed from the Service, then the runner drains.
            terminationGracePeriodSeconds: options.shutdownSeconds + preStopSeconds + 5,
            securityContext: { runAsNonRoot: true, runAsUser: RUNNER_UID, runAsGroup: RUNNER_UID, fsGroup: RUNNER_UID, seccompProfile: { type: 'RuntimeDefault' } },
            ...(options.imagePullSecret === undefined ? {} : { imagePullSecrets: [{ name: options.imagePullSecret }] }),
            containers: [
              {
                name: 'runner',
                image: options.image,
                imagePullPolicy: 'IfNotPresent',
                ports: [
                  { name: 'http', containerPort: RUNNER_HTTP_PORT, protocol: 'TCP' },
                  { name: 'admin', containerPort: RUNNER_ADMIN.port, protocol: 'TCP' },
                ],
                envFrom,
                ...(env.length === 0 ? {} : { env }),
                // Pulling and preparing can take a while on a cold cache; liveness only starts once it has.
                startupProbe: probe(RUNNER_ADMIN.ready, 2, 150),
                readinessProbe: probe(RUNNER_ADMIN.ready, 5, 2),
                livenessProbe: probe(RUNNER_ADMIN.live, 10, 3),
                lifecycle: { preStop: { exec: { command: ['sleep', String(preStopSeconds)] } } },
                resources: options.resources,
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: mounts,
              },
            ],
            volumes,
          },
        },
      },
    },
  });

  out.push({
    file: 'service.yaml',
    object: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(''),
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    },
  });
  out.push({
    file: 'hpa.yaml',
    object: {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta(''),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        minReplicas: options.replicas,
        maxReplicas: options.maxReplicas,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      },
    },
  });
  out.push({
    file: 'pdb.yaml',
    object: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(''),
      // One replica may go at a time (a drain, a node upgrade); with one replica, none.
      spec: { selector: { matchLabels: selector }, ...(options.replicas > 1 ? { maxUnavailable: 1 } : { minAvailable: 1 }) },
    },
  });
  return out;
}
