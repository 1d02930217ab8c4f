/**
 * WASI's two release candidates of 0.2 that Spin 2.0-era SDKs built components against,
 * `0.2.0-rc-2023-10-18` and `0.2.0-rc-2023-11-10` (Spin links both: crates/factor-wasi/src/
 * wasi_2023_*.rs, crates/factor-outbound-http/src/wasi_2023_*.rs), served over the host's WASI 0.2
 * implementation. jco's glue names imports without their version, so an rc component receives
 * the same import keys as a 0.2 one; what differs is the shape of some functions and classes:
 *
 * - 10-18 `wasi:io/poll` has `poll-list`/`poll-one`, its `wasi:io/streams` carries the `error`
 *   resource, `monotonic-clock.subscribe(when, absolute)`, and `wasi:clocks/timezone` exists;
 * - 10-18 `fields` is constructed from its entries, `outgoing-response` from a status and
 *   headers, `outgoing-request` from method, path, scheme, authority and headers, and bodies are
 *   taken with `write()`; errors are the four-case `error` variant and request options a record;
 * - 11-10 request options name their methods `*-timeout-ms`, and `future-trailers.get` has one
 *   `result` fewer than 0.2.
 *
 * Classes the guest constructs become subclasses here; because the host also hands out objects
 * of the base classes (a request's headers), each subclass answers `instanceof` for base
 * objects, which is the check jco's glue makes when a resource crosses into the guest. Objects
 * whose methods differ in shape (trailers, responses of outbound calls) are given the
 * version's prototype when the host hands them out through a function of the version.
 */

/** A WASI 0.2 release candidate a component can be built against. */
export type WasiRc = 'rc-2023-10-18' | 'rc-2023-11-10';

/** The full version string of each release candidate. */
export const WASI_RC_VERSIONS: Readonly<Record<WasiRc, string>> = {
  'rc-2023-10-18': '0.2.0-rc-2023-10-18',
  'rc-2023-11-10': '0.2.0-rc-2023-11-10',
};

/**
 * The interfaces WASI 0.2 and both release candidates have (names without version); 0.2 and
 * 11-10 add `wasi:io/error`, 10-18 `wasi:clocks/timezone`.
 */
export const WASI_COMMON_INTERFACES: readonly string[] = [
  'wasi:io/poll',
  'wasi:io/streams',
  'wasi:clocks/monotonic-clock',
  'wasi:clocks/wall-clock',
  'wasi:random/random',
  'wasi:random/insecure',
  'wasi:random/insecure-seed',
  'wasi:cli/environment',
  'wasi:cli/exit',
  'wasi:cli/stdin',
  'wasi:cli/stdout',
  'wasi:cli/stderr',
  'wasi:cli/terminal-input',
  'wasi:cli/terminal-output',
  'wasi:cli/terminal-stdin',
  'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr',
  'wasi:filesystem/types',
  'wasi:filesystem/preopens',
  'wasi:http/types',
  'wasi:http/outgoing-handler',
];

/** Interfaces served at the release candidates (names without version). */
export const WASI_RC_INTERFACES: Readonly<Record<WasiRc, readonly string[]>> = {
  'rc-2023-10-18': [...WASI_COMMON_INTERFACES, 'wasi:clocks/timezone'],
  'rc-2023-11-10': [...WASI_COMMON_INTERFACES, 'wasi:io/error'],
};

/**
 * The release candidate of each interface a component imports at one (`wasi:io/poll` →
 * `rc-2023-10-18`). A component importing the same interface at an rc and at 0.2.x gets one
 * object for both from jco; the rc's shapes are added, and where the two differ in what a
 * method returns the rc wins, since such a component was built for it.
 */
export function wasiRcImports(imports: readonly string[]): Map<string, WasiRc> {
  const out = new Map<string, WasiRc>();
  for (const name of imports) {
    const at = name.indexOf('@');
    if (at === -1) continue;
    const version = name.slice(at + 1);
    const rc = (Object.keys(WASI_RC_VERSIONS) as WasiRc[]).find((r) => WASI_RC_VERSIONS[r] === version);
    if (rc !== undefined) out.set(name.slice(0, at), rc);
  }
  return out;
}

type ImportObject = Record<string, unknown>;
/** A host class as the import object holds it. */
type Ctor<I extends object = object> = new (...args: unknown[]) => I;

/** A subclass of `base` that jco's `instanceof` checks also accept for objects of `base`. */
function widen<C extends object>(base: object, sub: C): C {
  Object.defineProperty(sub, Symbol.hasInstance, { value: (obj: unknown) => obj instanceof (base as Ctor) });
  return sub;
}

/** The 10-18 `error` variant for a 0.2 `error-code` (Spin maps them the same way). */
function toRc1018Error(code: unknown): { tag: string; val: string } {
  const tag = typeof code === 'object' && code !== null && 'tag' in code ? String((code as { tag: unknown }).tag) : String(code);
  if (tag === 'HTTP-request-URI-invalid' || tag === 'HTTP-request-URI-too-long') return { tag: 'invalid-url', val: tag };
  if (/timeout/i.test(tag)) return { tag: 'timeout-error', val: tag };
  if (tag === 'HTTP-protocol-error' || tag.startsWith('HTTP-response')) return { tag: 'protocol-error', val: tag };
  return { tag: 'unexpected-error', val: tag };
}

function rethrowMapped(err: unknown, map: (code: unknown) => unknown): never {
  if (typeof err === 'object' && err !== null && 'payload' in err) throw { payload: map((err as { payload: unknown }).payload) };
  throw err;
}

type WitResult = { tag: 'ok'; val: unknown } | { tag: 'err'; val: unknown };

/**
 * The import objects of a component built against release candidates: for each key the component
 * imports at an rc, the host's 0.2 object with that rc's shapes. `base(key)` builds the host's 0.2
 * object of any interface (an rc may need one the component does not import, such as
 * `wasi:io/error`'s class for 10-18's streams).
 */
export function wasiRcImportObjects(rcs: ReadonlyMap<string, WasiRc>, base: (key: string) => ImportObject | undefined): Record<string, ImportObject> {
  const out: Record<string, ImportObject> = {};
  for (const [key, rc] of rcs) {
    const object = base(key);
    if (object === undefined && key !== 'wasi:clocks/timezone') continue;
    out[key] = overlay(key, rc, object ?? {}, base);
  }
  return out;
}

function overlay(key: string, rc: WasiRc, object: ImportObject, base: (key: string) => ImportObject | undefined): ImportObject {
  const is1018 = rc === 'rc-2023-10-18';
  switch (key) {
    case 'wasi:io/poll': {
      if (!is1018) return object;
      const poll = object['poll'] as (list: unknown[]) => Uint32Array;
      return { ...object, pollList: (list: unknown[]) => poll(list), pollOne: (p: { block(): void }) => p.block() };
    }
    case 'wasi:io/streams':
      return is1018 ? { Error: base('wasi:io/error')?.['Error'], ...object } : object;
    case 'wasi:clocks/monotonic-clock': {
      if (!is1018) return object;
      const instant = object['subscribeInstant'] as (at: bigint) => unknown;
      const duration = object['subscribeDuration'] as (d: bigint) => unknown;
      return { ...object, subscribe: (when: bigint, absolute: boolean) => (absolute ? instant(when) : duration(when)) };
    }
    case 'wasi:clocks/timezone':
      // No time zones in the sandbox: everything is UTC.
      return { display: () => ({ utcOffset: 0, name: 'UTC', inDaylightSavingTime: false }), utcOffset: () => 0 };
    case 'wasi:http/types':
      return httpTypes(rc, object);
    case 'wasi:http/outgoing-handler':
      return outgoingHandler(rc, object, base);
    default:
      return object;
  }
}

function httpTypes(rc: WasiRc, object: ImportObject): ImportObject {
  const Fields = object['Fields'] as Ctor<{ append(n: string, v: Uint8Array): void }>;
  const OutgoingResponse = object['OutgoingResponse'] as Ctor<{ setStatusCode(s: number): void; body(): unknown }>;
  const OutgoingRequest = object['OutgoingRequest'] as Ctor<{ setMethod(m: unknown): void; setPathWithQuery(p: unknown): void; setScheme(s: unknown): void; setAuthority(a: unknown): void; body(): unknown }>;
  const RequestOptions = object['RequestOptions'] as Ctor<Record<string, ((...a: unknown[]) => unknown) | undefined>> | undefined;
  const IncomingBody = object['IncomingBody'] as Ctor & { finish(body: unknown): object };
  const FutureTrailers = object['FutureTrailers'] as Ctor & { prototype: { get(): WitResult | undefined } };
  const out: ImportObject = { ...object };

  // Trailers: 10-18 `option<result<trailers, error>>`, 11-10 `option<result<option<trailers>, error-code>>`.
  const trailersGet = FutureTrailers.prototype.get;
  const FutureTrailersRc = widen(
    FutureTrailers,
    class extends FutureTrailers {
      get(): WitResult | undefined {
        const outer = trailersGet.call(this);
        if (outer === undefined) return undefined;
        if (outer.tag === 'err') throw new Error('future-trailers.get called again after its value was taken');
        const inner = outer.val as WitResult;
        if (rc === 'rc-2023-10-18') return inner.tag === 'ok' ? { tag: 'ok', val: inner.val ?? new Fields() } : { tag: 'err', val: toRc1018Error(inner.val) };
        return inner;
      }
    },
  );
  out['FutureTrailers'] = FutureTrailersRc;
  out['IncomingBody'] = widen(
    IncomingBody,
    class extends IncomingBody {
      static override finish(body: unknown): object {
        return Object.setPrototypeOf(IncomingBody.finish(body), FutureTrailersRc.prototype) as object;
      }
    },
  );

  if (rc === 'rc-2023-10-18') {
    out['Fields'] = widen(
      Fields,
      class extends Fields {
        constructor(entries?: Array<[string, Uint8Array]>) {
          super();
          for (const [name, value] of entries ?? []) this.append(name, value);
        }
      },
    );
    out['OutgoingResponse'] = widen(
      OutgoingResponse,
      class extends OutgoingResponse {
        // 10-18's `(status, headers)`; a 0.2 `(headers)` call from the same component (a
        // componentize-js build's own StarlingMonkey code) still works.
        constructor(...args: unknown[]) {
          super(args.length >= 2 ? args[1] : args[0]);
          if (args.length >= 2) this.setStatusCode(args[0] as number);
        }
        write(): unknown {
          return this.body();
        }
      },
    );
    out['OutgoingRequest'] = widen(
      OutgoingRequest,
      class extends OutgoingRequest {
        // 10-18's `(method, path-with-query, scheme, authority, headers)`, or 0.2's `(headers)`.
        constructor(...args: unknown[]) {
          super(args.length >= 5 ? args[4] : args[0]);
          if (args.length >= 5) {
            this.setMethod(args[0]);
            this.setPathWithQuery(args[1]);
            this.setScheme(args[2]);
            this.setAuthority(args[3]);
          }
        }
        write(): unknown {
          return this.body();
        }
      },
    );
  } else if (RequestOptions !== undefined) {
    out['RequestOptions'] = widen(
      RequestOptions,
      class extends RequestOptions {
        connectTimeoutMs(): unknown {
          return this['connectTimeout']?.();
        }
        setConnectTimeoutMs(d: unknown): unknown {
          return this['setConnectTimeout']?.(d);
        }
        firstByteTimeoutMs(): unknown {
          return this['firstByteTimeout']?.();
        }
        setFirstByteTimeoutMs(d: unknown): unknown {
          return this['setFirstByteTimeout']?.(d);
        }
        betweenBytesTimeoutMs(): unknown {
          return this['betweenBytesTimeout']?.();
        }
        setBetweenBytesTimeoutMs(d: unknown): unknown {
          return this['setBetweenBytesTimeout']?.(d);
        }
      },
    );
  }
  return out;
}

function outgoingHandler(rc: WasiRc, object: ImportObject, base: (key: string) => ImportObject | undefined): ImportObject {
  if (rc !== 'rc-2023-10-18') return object;
  const handle = object['handle'] as ((request: unknown, options: unknown) => object) | undefined;
  if (handle === undefined) return object;
  const types = base('wasi:http/types') ?? {};
  const RequestOptions = types['RequestOptions'] as (new () => Record<string, (v: unknown) => void>) | undefined;
  const futurePrototypes = new WeakMap<object, object>();
  /** 10-18's future answers its errors as the `error` variant. */
  const rcFuture = (future: object): object => {
    const proto = Object.getPrototypeOf(future) as { get(this: object): WitResult | undefined } & object;
    let rcProto = futurePrototypes.get(proto);
    if (rcProto === undefined) {
      const get = proto.get;
      rcProto = Object.create(proto, {
        get: {
          value(this: object) {
            const outer = get.call(this);
            if (outer === undefined || outer.tag === 'err') return outer;
            const inner = outer.val as WitResult;
            return inner.tag === 'ok' ? outer : { tag: 'ok', val: { tag: 'err', val: toRc1018Error(inner.val) } };
          },
        },
      }) as object;
      futurePrototypes.set(proto, rcProto);
    }
    return Object.setPrototypeOf(future, rcProto) as object;
  };
  return {
    ...object,
    handle(request: unknown, options: { connectTimeoutMs?: number; firstByteTimeoutMs?: number; betweenBytesTimeoutMs?: number } | undefined): object {
      let resource: unknown;
      if (options !== undefined && RequestOptions !== undefined) {
        const made = new RequestOptions();
        const ns = (ms: number | undefined): bigint | undefined => (ms === undefined ? undefined : BigInt(ms) * 1_000_000n);
        made['setConnectTimeout']?.(ns(options.connectTimeoutMs));
        made['setFirstByteTimeout']?.(ns(options.firstByteTimeoutMs));
        made['setBetweenBytesTimeout']?.(ns(options.betweenBytesTimeoutMs));
        resource = made;
      }
      try {
        return rcFuture(handle(request, resource));
      } catch (err) {
        return rethrowMapped(err, toRc1018Error);
      }
    },
  };
}
