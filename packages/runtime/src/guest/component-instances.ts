/**
 * A component's instances in one worker: which instance serves the next request. The default is
 * a fresh instance per request, made ahead of the request in idle time under one run of jco's glue
 * (glue-template.ts): the used core instances are reset to their state right after instantiation
 * when prepare made the component resettable (about 1 ms for a componentize-js guest), else, or
 * when a reset is not possible (memory or a table grew), replaced by new core instances (about
 * 6 ms). The glue itself is run again every `templateGenerations` instances, and for every
 * instance when its handle tables cannot be emptied between guests. `--instance-reuse N` lets one
 * instance serve up to N requests. After a fault nothing of the instance or its glue is kept: it
 * is neither reset nor reused.
 *
 * The worker uses only {@link ComponentInstances}: `prepare()` once it is ready (when it should
 * make the first instance before the first request), `nextHandler()` (or `nextExports()` for
 * Spin's own handler exports) before a request, then `release()` after a request that ended
 * normally or `discard()` after a fault.
 */
import type { ComponentResetInfo } from '../prepare/resettable-cache.js';
import type { IncomingRequest, ResponseOutparam } from './wasi/http.js';
import { GlueTemplate, type GlueInstantiate } from './glue-template.js';

/** The guest's `wasi:http/incoming-handler` export as jco's glue lifts it. */
export interface HandlerExports {
  handle(request: IncomingRequest, out: ResponseOutparam): void;
}

/** How the fresh instances of a component were made so far (for benchmarks and tests). */
export interface InstanceCounts {
  /** Runs of jco's glue (each makes new core instances). */
  glueRuns: number;
  /** Fresh guests made by new core instances under a kept glue. */
  refreshes: number;
  /** Fresh guests made by resetting used core instances. */
  resets: number;
}

/** Which instance serves the next request of one component. */
export interface ComponentInstances {
  /** The handler of the instance for the next request (fresh unless reuse allows the current one). */
  nextHandler(): HandlerExports;
  /** The whole export object of that instance (for Spin's `inboundHttp`/`inboundRedis` exports). */
  nextExports(): Record<string, unknown>;
  /** After a request that ended normally: prepares the next instance in idle time. */
  release(): void;
  /** Before any request: makes the first instance in idle time (the glue's first run), so the first request does not wait for it. */
  prepare(): void;
  /** After a fault (trap, exit, host error): the instance and its glue are dropped. */
  discard(): void;
  /** Bytes of the current instance's largest memory (0 when there is none): after a trap, before `discard`, it tells whether the guest ran into the memory limit. */
  memoryBytes(): number;
  /** How fresh instances were made so far. */
  counts(): InstanceCounts;
}

/** Options of {@link createComponentInstances}. */
export interface ComponentInstancesOptions {
  /** jco's `instantiate` from the component's glue module. */
  instantiate: GlueInstantiate;
  /** The component's core modules by the name the glue asks for. */
  getCoreModule(name: string): WebAssembly.Module;
  /** The import object for the glue (built once per glue run; it holds no per-request state). */
  imports(): Record<string, Record<string, unknown>>;
  /** What prepare made resettable. @default nothing: new core instances, glue run for each */
  reset?: ComponentResetInfo | undefined;
  /** Requests one instance may serve. @default 1 */
  instanceReuse?: number;
  /** Fresh instances made under one glue run before the glue is run again (it bounds jco's resource numbering, which never restarts). @default 4096 */
  templateGenerations?: number;
  /** Called for every instance made (a glue run, or a reset or new core instances under it): the pool counts them. */
  onInstance?: () => void;
}

interface Template {
  glue: GlueTemplate;
  exports: Record<string, unknown>;
  generations: number;
  /** Requests served by the current core instances (0: fresh, not yet used). */
  uses: number;
}

/** Instances of one component in one worker. */
export function createComponentInstances(options: ComponentInstancesOptions): ComponentInstances {
  const reuse = Math.max(1, options.instanceReuse ?? 1);
  const templateGenerations = Math.max(1, options.templateGenerations ?? 4096);
  const counts: InstanceCounts = { glueRuns: 0, refreshes: 0, resets: 0 };
  let template: Template | undefined;
  let warming = false;

  const counted = options.onInstance ?? ((): void => undefined);
  const build = (): Template => {
    const glue = new GlueTemplate(options.instantiate, options.getCoreModule, options.imports(), {
      resetLayouts: options.reset?.layouts,
      glueCaptureTables: options.reset?.glueCaptureTables,
      glueBookkeeping: options.reset?.glueBookkeeping,
    });
    counts.glueRuns++;
    counted();
    return { glue, exports: glue.exports, generations: 1, uses: 0 };
  };

  const usable = (t: Template): boolean => t.uses < reuse;
  // Glue whose handle tables cannot be emptied serves one guest only.
  const renewable = (t: Template): boolean => t.glue.keepsHandlesApart && t.generations < templateGenerations;

  /** A fresh guest under the kept glue: reset when possible, new core instances otherwise. */
  const renew = (t: Template): void => {
    if (t.glue.reset()) counts.resets++;
    else {
      t.glue.refresh();
      counts.refreshes++;
    }
    counted();
    t.generations++;
    t.uses = 0;
  };

  const nextExports = (): Record<string, unknown> => {
    let t = template;
    if (t !== undefined && !usable(t)) {
      if (renewable(t)) renew(t);
      else t = undefined;
    }
    if (t === undefined) {
      t = build();
      template = t;
    }
    t.uses++;
    return t.exports;
  };

  return {
    nextHandler: () => nextExports()['incomingHandler'] as HandlerExports,
    nextExports,
    release() {
      const t = template;
      if (t === undefined || usable(t) || warming) return;
      // Made while the worker is idle, so a request that finds it free does not wait for
      // instantiation (or a glue run); a message that arrives first is handled first.
      warming = true;
      setImmediate(() => {
        warming = false;
        if (template !== t || usable(t)) return;
        try {
          if (renewable(t)) renew(t);
          else template = build();
        } catch {
          template = undefined;
        }
      });
    },
    prepare() {
      if (template !== undefined || warming) return;
      warming = true;
      setImmediate(() => {
        warming = false;
        if (template !== undefined) return;
        try {
          template = build();
        } catch {
          // The request that needs it runs the glue again and reports what fails.
          template = undefined;
        }
      });
    },
    discard() {
      template = undefined;
    },
    memoryBytes() {
      return template?.glue.memoryBytes() ?? 0;
    },
    counts() {
      return { ...counts };
    },
  };
}
