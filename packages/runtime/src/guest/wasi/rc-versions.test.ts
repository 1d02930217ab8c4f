import { describe, expect, it } from 'vitest';
import { HostRegistry, type InstanceContext } from '../host-registry.js';
import { wasiHostInterfaces } from './host.js';
import { MemorySource } from './io.js';
import { wasiRcImportObjects, wasiRcImports } from './rc-versions.js';

const ctx: InstanceContext = {
  componentId: 'c',
  env: [],
  mounts: [],
  stdout: { write: () => undefined },
  stderr: { write: () => undefined },
  blocker: { wait: () => undefined },
};

/** The rc import objects over the real WASI 0.2 host, for a component importing `names`. */
function importsFor(names: string[]): Record<string, Record<string, unknown>> {
  const registry = new HostRegistry(wasiHostInterfaces());
  const base = (key: string): Record<string, unknown> | undefined => registry.buildImports([key], ctx)[key];
  return wasiRcImportObjects(wasiRcImports(names), base);
}

type Ctor = new (...args: unknown[]) => Record<string, (...args: unknown[]) => unknown>;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('WASI 0.2 release candidates over the 0.2 host', () => {
  it('reads which interfaces a component imports at which rc', () => {
    expect([...wasiRcImports(['wasi:io/poll@0.2.0-rc-2023-10-18', 'wasi:http/types@0.2.0-rc-2023-11-10', 'wasi:io/streams@0.2.3', 'fermyon:spin/config'])]).toEqual([
      ['wasi:io/poll', 'rc-2023-10-18'],
      ['wasi:http/types', 'rc-2023-11-10'],
    ]);
  });

  it('10-18: fields from entries, a response from status and headers taken with write(), base objects accepted as the rc classes', () => {
    const http = importsFor(['wasi:http/types@0.2.0-rc-2023-10-18'])['wasi:http/types'] ?? {};
    const Fields = http['Fields'] as Ctor;
    const fields = new Fields([['x-a', enc('1')], ['x-b', enc('2')]]);
    expect(fields['entries']?.()).toEqual([['x-a', enc('1')], ['x-b', enc('2')]]);
    const OutgoingResponse = http['OutgoingResponse'] as Ctor;
    const response = new OutgoingResponse(201, fields);
    expect(response['statusCode']?.()).toBe(201);
    expect(response['write']?.()).toBeDefined();
    // Objects the host makes from the base classes pass jco's instanceof checks for the rc classes.
    const base = importsFor(['wasi:http/types@0.2.3'])['wasi:http/types'];
    expect(base).toBeUndefined(); // not an rc import: no overlay
    const registry = new HostRegistry(wasiHostInterfaces());
    const BaseFields = registry.buildImports(['wasi:http/types'], ctx)['wasi:http/types']?.['Fields'] as Ctor;
    expect(new BaseFields() instanceof Fields).toBe(true);
    // Constructed the 0.2 way too (a componentize-js build also carries StarlingMonkey's 0.2 calls).
    expect(new OutgoingResponse(new Fields())['statusCode']?.()).toBe(200);
  });

  it("10-18: an outgoing request from its five parts; trailers as 10-18's `option<result<trailers, error>>`", () => {
    const http = importsFor(['wasi:http/types@0.2.0-rc-2023-10-18'])['wasi:http/types'] ?? {};
    const OutgoingRequest = http['OutgoingRequest'] as Ctor;
    const Fields = http['Fields'] as Ctor;
    const request = new OutgoingRequest({ tag: 'post' }, '/p?q', { tag: 'HTTPS' }, 'example.com', new Fields([]));
    expect([request['method']?.(), request['pathWithQuery']?.(), request['authority']?.()]).toEqual([{ tag: 'post' }, '/p?q', 'example.com']);
    expect(request['write']?.()).toBeDefined();
    const IncomingBody = http['IncomingBody'] as { finish(body: unknown): { get(): unknown } };
    const registry = new HostRegistry(wasiHostInterfaces());
    const BaseBody = registry.buildImports(['wasi:http/types'], ctx)['wasi:http/types']?.['IncomingBody'] as new (s: unknown, b: unknown) => unknown;
    const trailers = IncomingBody.finish(new BaseBody(new MemorySource(new Uint8Array(0)), ctx.blocker));
    const got = trailers.get() as { tag: string; val: unknown };
    expect(got.tag).toBe('ok');
    expect(got.val instanceof Fields).toBe(true);
  });

  it('10-18: poll-list/poll-one, subscribe(when, absolute), a UTC timezone, streams carrying the error resource', () => {
    const imports = importsFor(['wasi:io/poll@0.2.0-rc-2023-10-18', 'wasi:clocks/monotonic-clock@0.2.0-rc-2023-10-18', 'wasi:clocks/timezone@0.2.0-rc-2023-10-18', 'wasi:io/streams@0.2.0-rc-2023-10-18']);
    const clock = imports['wasi:clocks/monotonic-clock'] as { subscribe(when: bigint, absolute: boolean): { ready(): boolean } };
    const poll = imports['wasi:io/poll'] as { pollList(list: unknown[]): Uint32Array; pollOne(p: unknown): void };
    const due = clock.subscribe(0n, true);
    expect(due.ready()).toBe(true);
    expect([...poll.pollList([due])]).toEqual([0]);
    poll.pollOne(clock.subscribe(1n, false));
    expect((imports['wasi:clocks/timezone'] as { utcOffset(): number }).utcOffset()).toBe(0);
    expect(typeof imports['wasi:io/streams']?.['Error']).toBe('function');
  });

  it("10-18: outgoing-handler takes its options record and answers refusals with 10-18's error variant", () => {
    const handler = importsFor(['wasi:http/outgoing-handler@0.2.0-rc-2023-10-18'])['wasi:http/outgoing-handler'] as { handle(r: unknown, o: unknown): unknown };
    try {
      handler.handle({}, { connectTimeoutMs: 5 });
      expect.unreachable();
    } catch (err) {
      expect(err).toEqual({ payload: { tag: 'unexpected-error', val: 'HTTP-request-denied' } });
    }
  });

  it('11-10: request options with *-timeout-ms methods', () => {
    const http = importsFor(['wasi:http/types@0.2.0-rc-2023-11-10'])['wasi:http/types'] ?? {};
    const RequestOptions = http['RequestOptions'] as Ctor;
    const options = new RequestOptions();
    options['setConnectTimeoutMs']?.(7n);
    expect(options['connectTimeoutMs']?.()).toBe(7n);
    expect(options['connectTimeout']?.()).toBe(7n);
  });
});
