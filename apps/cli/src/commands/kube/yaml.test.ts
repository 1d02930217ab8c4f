import { describe, expect, it } from 'vitest';
import { scaffoldManifests } from './manifests.js';
import { toYaml } from './yaml.js';

describe('toYaml', () => {
  it('quotes every string YAML would read as something else, and keeps names plain', () => {
    const text = toYaml({ a: 'yes', b: 'No', c: '1.0', d: '0.0.0.0:3000', e: '', f: 'null', g: '2024-01-01', h: 'app.kubernetes.io/name', i: 'with space', j: '#comment', k: 7, l: true, 'x y': 'z' });
    expect(text).toBe(
      'a: "yes"\nb: "No"\nc: "1.0"\nd: "0.0.0.0:3000"\ne: ""\nf: "null"\ng: "2024-01-01"\nh: app.kubernetes.io/name\ni: "with space"\nj: "#comment"\nk: 7\nl: true\n"x y": z\n',
    );
  });

  it('writes multi-line text as a literal block, unless a line ends in spaces (then quoted with escapes)', () => {
    expect(toYaml({ s: { 'a.toml': 'x = 1\n\n[t]\ny = "2"\n', b: 'no newline\nat end' } })).toBe('s:\n  a.toml: |\n    x = 1\n\n    [t]\n    y = "2"\n  b: |-\n    no newline\n    at end\n');
    expect(toYaml({ t: 'trailing \nspace' })).toBe('t: "trailing \\nspace"\n');
  });

  it('writes nested lists and empty collections', () => {
    expect(toYaml({ list: [{ a: 1, b: [2, 'x'] }, 'y'], e: [], o: {} })).toBe('list:\n- a: 1\n  b:\n  - 2\n  - x\n- "y"\ne: []\no: {}\n');
  });
});

describe('scaffoldManifests', () => {
  const base = {
    from: 'ghcr.io/acme/shop:1',
    name: 'shop',
    image: 'img:1',
    replicas: 1,
    maxReplicas: 4,
    variables: [] as Array<[string, string]>,
    watchInterval: '30s',
    insecure: false,
    shutdownSeconds: 20,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  };

  it('leaves out the variables Secret and the registry credentials when none are asked for, and says the default store is per replica', () => {
    const objects = scaffoldManifests(base);
    expect(objects.map((o) => o.object['kind'])).toEqual(['ConfigMap', 'Secret', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']);
    const text = objects.map((o) => toYaml(o.object)).join('---\n');
    expect(text).not.toContain('DOCKER_CONFIG');
    expect(text).not.toContain('imagePullSecrets');
    expect(text).toContain('one per replica (not shared)');
    expect(text).toContain('terminationGracePeriodSeconds: 30');
  });

  it('puts the namespace on every object when given', () => {
    for (const o of scaffoldManifests({ ...base, namespace: 'shop-prod' })) expect((o.object['metadata'] as { namespace?: string }).namespace).toBe('shop-prod');
  });
});
