import { describe, expect, it } from 'vitest';
import { LockedAppError } from './errors.js';
import { parseLockedApp, serializeLockedApp } from './locked-app.js';
import type { LockedApp } from './locked-app.js';

const SPIN_WRITTEN = `{
  "spin_lock_version": 1,
  "must_understand": [
    "component_host_requirements"
  ],
  "metadata": {
    "name": "chain-of-command",
    "origin": "file:///app/spin.toml",
    "trigger": {
      "type": "http"
    },
    "triggers": {}
  },
  "triggers": [
    {
      "id": "four-lights-http-trigger",
      "trigger_type": "http",
      "trigger_config": {
        "component": "four-lights",
        "executor": {
          "type": "http"
        },
        "route": "/lights"
      }
    }
  ],
  "components": [
    {
      "id": "four-lights",
      "metadata": {
        "allowed_outbound_hosts": [
          "http://old-test.spin.internal"
        ]
      },
      "source": {
        "content_type": "application/wasm",
        "source": "file:///app/wasm/dummy.wasm"
      },
      "env": {
        "env1": "first",
        "env2": "second"
      },
      "host_requirements": {
        "local_service_chaining": "required"
      }
    }
  ]
}`;

describe('parseLockedApp / serializeLockedApp', () => {
  it('round-trips a lock file Spin wrote byte for byte', () => {
    expect(serializeLockedApp(parseLockedApp(SPIN_WRITTEN))).toBe(SPIN_WRITTEN);
  });

  it('writes the compact form Spin pushes (serde_json::to_vec): same order, no whitespace', () => {
    const app = parseLockedApp(SPIN_WRITTEN);
    const compact = serializeLockedApp(app, { format: 'compact' });
    expect(compact).toBe(JSON.stringify(JSON.parse(SPIN_WRITTEN)));
    expect(compact).not.toMatch(/\n/);
  });

  it('sorts map keys as serde_json without preserve_order does (by UTF-8 bytes, at every depth)', () => {
    const app = parseLockedApp({
      spin_lock_version: 0,
      // Inserted out of order, nested, and with keys whose UTF-16 order differs from their UTF-8 order.
      metadata: { zeta: 1, alpha: { '\u{1F600}': 1, '\uFF21': 2, b: 3, a: 4 }, Beta: true },
      triggers: [{ id: 't', trigger_type: 'http', trigger_config: { route: '/...', component: 'c' } }],
      components: [{ id: 'c', source: { content_type: 'application/wasm', digest: 'sha256:00' }, env: { Z: '1', A: '2' }, config: { y: '1', x: '2' } }],
    });
    const text = serializeLockedApp(app, { format: 'compact' });
    expect(text).toBe(
      '{"spin_lock_version":0,"metadata":{"Beta":true,"alpha":{"a":4,"b":3,"\uFF21":2,"\u{1F600}":1},"zeta":1},' +
        '"triggers":[{"id":"t","trigger_type":"http","trigger_config":{"component":"c","route":"/..."}}],' +
        '"components":[{"id":"c","source":{"content_type":"application/wasm","digest":"sha256:00"},"env":{"A":"2","Z":"1"},"config":{"x":"2","y":"1"}}]}',
    );
  });

  it('ignores unknown top-level fields', () => {
    const app = parseLockedApp({ spin_lock_version: 1, triggers: [], components: [], never_create_field_with_this_name: 123 });
    expect(app.triggers).toEqual([]);
  });

  it('refuses a must_understand it does not understand, naming it', () => {
    const err = catchErr(() =>
      parseLockedApp({ spin_lock_version: 1, must_understand: ['never_create_field_with_this_name'], triggers: [], components: [] }),
    );
    expect(err.code).toBe('MANIFEST_LOCKED_MUST_UNDERSTAND');
    expect(err.message).toContain('never_create_field_with_this_name');
  });

  it('accepts must_understand values it understands', () => {
    const app = parseLockedApp({
      spin_lock_version: 1,
      must_understand: ['host_requirements'],
      host_requirements: { local_service_chaining: 'required' },
      triggers: [],
      components: [],
    });
    expect(app.host_requirements).toEqual({ local_service_chaining: 'required' });
    expect(serializeLockedApp(app)).toContain('"spin_lock_version": 1');
  });

  it('rejects spin_lock_version > 1', () => {
    const err = catchErr(() => parseLockedApp('{"spin_lock_version": 2, "triggers": [], "components": []}'));
    expect(err.code).toBe('MANIFEST_LOCKED_UNSUPPORTED_VERSION');
    expect(err.message).toContain('invalid version 2 > 1');
  });

  it('drops optional host requirements and refuses unknown required ones', () => {
    const app = parseLockedApp({ spin_lock_version: 1, host_requirements: { fancy: 'optional' }, triggers: [], components: [] });
    expect(app.host_requirements).toBeUndefined();
    const err = catchErr(() => parseLockedApp({ spin_lock_version: 1, host_requirements: { fancy: 'required' }, triggers: [], components: [] }));
    expect(err.code).toBe('MANIFEST_LOCKED_UNSUPPORTED_HOST_REQUIREMENT');
    expect(err.message).toContain('This version of Spin does not support the following features required by this application: fancy');
  });

  it('writes version 0 without requirements, omits empty fields and sorts map keys', () => {
    const app: LockedApp = {
      spin_lock_version: 1,
      must_understand: [],
      metadata: { zeta: 1, alpha: { b: 2, a: 1 } },
      variables: { b: { default: 'x' }, a: { secret: true }, c: { secret: false } },
      triggers: [{ id: 't', trigger_type: 'http', trigger_config: { route: '/', component: 'c' }, trigger_dependencies: {} }],
      components: [
        {
          id: 'c',
          metadata: {},
          source: { content_type: 'application/wasm', inline: new Uint8Array([1, 2, 3, 4]) },
          env: {},
          files: [],
          config: { z: '1', a: '2' },
          dependencies: {
            'b:c/d': { source: { content_type: 'application/wasm', digest: 'sha256:00' }, export: null },
            'a:b/c': { source: { content_type: 'application/wasm', source: 'file:///x' }, export: 'e', inherit: { Some: ['ai_models'] } },
          },
        },
      ],
    };
    const json = serializeLockedApp(app);
    expect(JSON.parse(json)).toEqual({
      spin_lock_version: 0,
      metadata: { alpha: { a: 1, b: 2 }, zeta: 1 },
      variables: { a: { secret: true }, b: { default: 'x' }, c: {} },
      triggers: [{ id: 't', trigger_type: 'http', trigger_config: { component: 'c', route: '/' } }],
      components: [
        {
          id: 'c',
          source: { content_type: 'application/wasm', inline: 'AQIDBA' },
          config: { a: '2', z: '1' },
          dependencies: {
            'a:b/c': { source: { content_type: 'application/wasm', source: 'file:///x' }, export: 'e', inherit: { Some: ['ai_models'] } },
            'b:c/d': { source: { content_type: 'application/wasm', digest: 'sha256:00' }, export: null },
          },
        },
      ],
    });
    expect(Object.keys(JSON.parse(json).metadata)).toEqual(['alpha', 'zeta']);
    expect(json.indexOf('"a:b/c"')).toBeLessThan(json.indexOf('"b:c/d"'));
  });

  it('accepts padded and unpadded inline base64', () => {
    const mk = (inline: string) =>
      parseLockedApp({ spin_lock_version: 0, triggers: [], components: [{ id: 'c', source: { content_type: 'application/wasm', inline } }] });
    expect([...(mk('AQIDBA').components[0]?.source.inline ?? [])]).toEqual([1, 2, 3, 4]);
    expect([...(mk('AQIDBA==').components[0]?.source.inline ?? [])]).toEqual([1, 2, 3, 4]);
    expect(catchErr(() => mk('A')).code).toBe('MANIFEST_LOCKED_INVALID');
  });

  it('reports bad JSON and bad shapes with codes', () => {
    expect(catchErr(() => parseLockedApp('{')).code).toBe('MANIFEST_LOCKED_JSON_SYNTAX');
    expect(catchErr(() => parseLockedApp('{"spin_lock_version":0,"triggers":[]}')).message).toContain('`components` is missing');
    expect(catchErr(() => parseLockedApp('{"spin_lock_version":0,"triggers":[{"id":1}],"components":[]}')).message).toContain('triggers[0].id');
  });
});

function catchErr(fn: () => unknown): LockedAppError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LockedAppError);
    return e as LockedAppError;
  }
  throw new Error('expected an error');
}
