import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { parseDuration } from '../up/app-source.js';
import { scaffoldManifests, type ScaffoldOptions } from './manifests.js';
import { toYaml } from './yaml.js';

/** What `spinel kube scaffold` produced. */
export interface ScaffoldResult {
  name: string;
  /** Files written with `--out`, in apply order. */
  files: string[];
  objects: Array<{ kind: string; name: string }>;
}

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;

/** `spinel kube scaffold`: Kubernetes manifests running an app from a registry on spinel-runner. */
export class KubeScaffold extends SpinelCommand {
  static override summary = 'Print Kubernetes manifests that run an app from a registry on spinel-runner.';
  static override description =
    'A Deployment of spinel-runner (probes on the admin port, resources, non-root with a read-only root filesystem), a Service, a HorizontalPodAutoscaler, a PodDisruptionBudget, a ConfigMap of runner settings and Secrets for variables and the runtime config. With --redis-url the default key-value store is shared by every replica through Redis. Build the runner image from deploy/Dockerfile and pass it with --image.';
  static override examples = [
    '<%= config.bin %> kube scaffold --from ghcr.io/acme/shop:1.4 --image ghcr.io/acme/spinel-runner:0.1.0 | kubectl apply -f -',
    '<%= config.bin %> kube scaffold --from ghcr.io/acme/shop:1.4 --replicas 3 --redis-url redis://redis:6379 --variable api_base=https://api.acme.dev --out k8s/',
  ];

  static override flags = {
    from: Flags.string({ char: 'f', required: true, description: 'The app\'s registry reference (push it with `spinel registry push`). A tag is followed (--watch-interval), a digest is pinned.' }),
    replicas: Flags.integer({ description: 'Replicas (and the autoscaler\'s minimum).', default: 2, min: 1 }),
    'max-replicas': Flags.integer({ description: 'The autoscaler\'s maximum. Default: four times --replicas.', min: 1 }),
    'redis-url': Flags.string({ description: 'redis:// or rediss:// URL: the default key-value store becomes a Redis store shared by every replica (kept in a Secret).' }),
    variable: Flags.string({ multiple: true, description: 'An app variable, NAME=VALUE or NAME=@FILE (repeatable); kept in a Secret, given to the runner as SPIN_VARIABLE_<NAME>.' }),
    out: Flags.string({ char: 'o', description: 'Write one file per object into this directory instead of printing (apply with kubectl apply -f DIR).' }),
    name: Flags.string({ description: 'Name of the objects. Default: the repository\'s last path segment.' }),
    namespace: Flags.string({ char: 'n', description: 'Namespace of the objects. Default: none (kubectl\'s).' }),
    image: Flags.string({ description: 'The spinel-runner image (built from deploy/Dockerfile).', default: 'spinel-runner:latest' }),
    'image-pull-secret': Flags.string({ description: 'A kubernetes.io/dockerconfigjson Secret: pulls the runner image, and the runner reads the app\'s registry credentials from it.' }),
    'watch-interval': Flags.string({ description: 'How often the runner checks the tag for a new digest (0: never). Default: 30s for a tag, 0 for a digest.' }),
    'shutdown-timeout': Flags.string({ description: 'How long in-flight requests may take when a pod stops.', default: '20s' }),
    insecure: Flags.boolean({ char: 'k', description: 'The app\'s registry speaks plain HTTP.', default: false }),
    'cpu-request': Flags.string({ default: '250m', description: 'CPU request.' }),
    'memory-request': Flags.string({ default: '256Mi', description: 'Memory request.' }),
    'cpu-limit': Flags.string({ default: '2', description: 'CPU limit.' }),
    'memory-limit': Flags.string({ default: '1Gi', description: 'Memory limit.' }),
  };

  async run(): Promise<ScaffoldResult> {
    const { flags } = await this.parse(KubeScaffold);
    const cwd = process.cwd();
    const { parseTargetReference } = await import('@spinel/oci');
    const target = parseTargetReference(flags.from, { cwd });
    if (target.kind !== 'registry') {
      throw invalid(`--from ${flags.from} is a local OCI layout; a cluster pulls from a registry. Push the app with \`spinel registry push\` and pass its reference.`);
    }
    const reference = target.reference;
    const name = flags.name ?? defaultName(reference.repository);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 47) {
      throw invalid(`--name '${name}' is not a Kubernetes name: use at most 47 lowercase letters, digits and '-', starting and ending with a letter or digit.`);
    }
    if (flags.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(flags.namespace)) {
      throw invalid(`--namespace '${flags.namespace}' is not a Kubernetes namespace name (lowercase letters, digits and '-').`);
    }
    if (flags['redis-url'] !== undefined) checkRedisUrl(flags['redis-url']);
    const variables: Array<[string, string]> = [];
    for (const spec of flags.variable ?? []) variables.push(await parseVariable(spec, cwd));
    for (const [flag, value] of [
      ['--cpu-request', flags['cpu-request']],
      ['--memory-request', flags['memory-request']],
      ['--cpu-limit', flags['cpu-limit']],
      ['--memory-limit', flags['memory-limit']],
    ] as const) {
      if (!QUANTITY.test(value)) throw invalid(`${flag} '${value}' is not a Kubernetes quantity (e.g. 250m, 2, 256Mi, 1Gi).`);
    }
    const pinned = reference.digest !== undefined;
    const watchInterval = flags['watch-interval'] ?? (pinned ? '0' : '30s');
    parseDuration(watchInterval);
    const shutdownMs = parseDuration(flags['shutdown-timeout']);
    const maxReplicas = flags['max-replicas'] ?? flags.replicas * 4;
    if (maxReplicas < flags.replicas) throw invalid(`--max-replicas ${maxReplicas} is below --replicas ${flags.replicas}.`);

    const options: ScaffoldOptions = {
      from: flags.from,
      name,
      image: flags.image,
      replicas: flags.replicas,
      maxReplicas,
      variables,
      watchInterval,
      insecure: flags.insecure,
      shutdownSeconds: Math.max(1, Math.ceil(shutdownMs / 1000)),
      resources: {
        requests: { cpu: flags['cpu-request'], memory: flags['memory-request'] },
        limits: { cpu: flags['cpu-limit'], memory: flags['memory-limit'] },
      },
      ...(flags['redis-url'] === undefined ? {} : { redisUrl: flags['redis-url'] }),
      ...(flags['image-pull-secret'] === undefined ? {} : { imagePullSecret: flags['image-pull-secret'] }),
      ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    };
    const objects = scaffoldManifests(options);
    const summary = objects.map((o) => ({ kind: String(o.object['kind']), name: String((o.object['metadata'] as { name: string }).name) }));
    if (flags.image === 'spinel-runner:latest') {
      process.stderr.write('Note: the image is spinel-runner:latest; build it from deploy/Dockerfile, push it to a registry your cluster can pull from, and pass --image.\n');
    }
    if (flags.out === undefined) {
      if (!this.jsonEnabled()) process.stdout.write(objects.map((o) => toYaml(o.object)).join('---\n'));
      return { name, files: [], objects: summary };
    }
    const dir = resolve(cwd, flags.out);
    await mkdir(dir, { recursive: true });
    const files: string[] = [];
    for (const o of objects) {
      const file = join(dir, o.file);
      await writeFile(file, toYaml(o.object), { mode: o.object['kind'] === 'Secret' ? 0o600 : 0o644 });
      files.push(file);
    }
    if (!this.jsonEnabled()) {
      for (const file of files) process.stdout.write(`Wrote ${file}\n`);
      process.stdout.write(`Apply with: kubectl apply -f ${flags.out}\n`);
    }
    return { name, files, objects: summary };
  }
}

function invalid(message: string): Error {
  return Object.assign(new Error(message), { code: 'CLI_INVALID_FLAG' });
}

function defaultName(repository: string): string {
  const last = repository.split('/').at(-1) ?? 'app';
  const cleaned = last.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 47).replace(/-+$/, '');
  return cleaned === '' ? 'spin-app' : cleaned;
}

function checkRedisUrl(text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`--redis-url '${redact(text)}' is not a URL; write redis://host:6379 or rediss://user:password@host:6380/0.`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw invalid(`--redis-url must start with redis:// or rediss://, not ${url.protocol}//.`);
}

/** A URL with its password hidden, for messages. */
function redact(text: string): string {
  return text.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

async function parseVariable(spec: string, cwd: string): Promise<[string, string]> {
  const eq = spec.indexOf('=');
  const name = eq < 0 ? spec : spec.slice(0, eq);
  if (eq <= 0 || !/^[a-z][a-z0-9_]*$/.test(name)) {
    throw invalid(`--variable '${name}': write NAME=VALUE with a Spin variable name (lowercase letters, digits and '_', starting with a letter).`);
  }
  const value = spec.slice(eq + 1);
  if (!value.startsWith('@')) return [name, value];
  const file = resolve(cwd, value.slice(1));
  try {
    return [name, await readFile(file, 'utf8')];
  } catch (err) {
    throw invalid(`--variable ${name}=@${value.slice(1)}: cannot read ${file} (${(err as Error).message}).`);
  }
}
