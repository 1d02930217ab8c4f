/**
 * A component's instances in one worker: which instance serves the next request. The default is
 * a fresh instance per request; it is made ahead of the request, in idle time, by replacing only
 * the core instances under one run of jco's glue (glue-template.ts), and the glue itself is run
 * again every `templateGenerations` instances. `--instance-reuse N` lets one instance serve up to
 * N requests. After a fault nothing of the instance or its glue is kept.
 *
 * The worker uses only {@link ComponentInstances}: `nextHandler()` before a request, then
 * `release()` after a request that ended normally or `discard()` after a fault.
 */
import type { IncomingRequest, ResponseOutparam } from './wasi/http.js';
import { GlueTemplate, type GlueInstantiate } from './glue-template.js';

/** The guest's `wasi:http/incoming-handler` export as jco's glue lifts it. */
export interface HandlerExports {
  handle(request: IncomingRequest, out: ResponseOutparam): void;
}

/** Which instance serves the next request of one component. */
export interface ComponentInstances {
  /** The handler of the instance for the next request (fresh unless reuse allows the current one). */
  nextHandler(): HandlerExports;
  /** After a request that ended normally: prepares the next instance in idle time. */
  release(): void;
  /** After a fault (trap, exit, host error): the instance and its glue are dropped. */
  discard(): void;
}

/** Options of {@link createComponentInstances}. */
export interface ComponentInstancesOptions {
  /** jco's `instantiate` from the component's glue module. */
  instantiate: GlueInstantiate;
  /** The component's core modules by the name the glue asks for. */
  getCoreModule(name: string): WebAssembly.Module;
  /** The import object for the glue (built once per glue run; it holds no per-request state). */
  imports(): Record<string, Record<string, unknown>>;
  /** Requests one instance may serve. @default 1 */
  instanceReuse?: number;
  /** Fresh instances made under one glue run before the glue is run again. @default 64 */
  templateGenerations?: number;
}

interface Template {
  glue: GlueTemplate;
  handler: HandlerExports;
  generations: number;
  /** Requests served by the current core instances (0: fresh, not yet used). */
  uses: number;
}

/** Instances of one component in one worker. */
export function createComponentInstances(options: ComponentInstancesOptions): ComponentInstances {
  const reuse = Math.max(1, options.instanceReuse ?? 1);
  const maxGenerations = Math.max(1, options.templateGenerations ?? 64);
  let template: Template | undefined;
  let warming = false;

  const build = (): Template => {
    const glue = new GlueTemplate(options.instantiate, options.getCoreModule, options.imports());
    return { glue, handler: glue.exports['incomingHandler'] as HandlerExports, generations: 1, uses: 0 };
  };

  const usable = (t: Template): boolean => t.uses < reuse;

  return {
    nextHandler() {
      const t = template;
      if (t !== undefined) {
        if (usable(t)) {
          t.uses++;
          return t.handler;
        }
        if (t.generations < maxGenerations) {
          // A fresh guest: new core instances under the same glue.
          t.glue.refresh();
          t.generations++;
          t.uses = 1;
          return t.handler;
        }
      }
      const fresh = build();
      fresh.uses = 1;
      template = fresh;
      return fresh.handler;
    },
    release() {
      const t = template;
      if (t === undefined || usable(t) || t.generations >= maxGenerations || warming) return;
      // Made while the worker is idle, so a request that finds it free does not wait for
      // instantiation; a message that arrives first is handled first.
      warming = true;
      setImmediate(() => {
        warming = false;
        if (template !== t || usable(t)) return;
        try {
          t.glue.refresh();
          t.generations++;
          t.uses = 0;
        } catch {
          template = undefined;
        }
      });
    },
    discard() {
      template = undefined;
    },
  };
}
