/**
 * Loads a component's jco glue in a worker: compiled from the script prepare made of it, with V8's
 * code cache when prepare had one (prepare/glue-script.ts), else imported as the module it is.
 */
import { Script } from 'node:vm';
import type { PreparedComponent } from '../prepare/prepare-component.js';
import { GLUE_SCRIPT_NAME } from '../prepare/glue-script.js';
import type { GlueInstantiate } from './glue-template.js';

/** What a worker takes from the glue. */
export interface LoadedGlue {
  instantiate: GlueInstantiate;
  /** Whether V8 took the code cache: false when there was none, or it refused it and compiled the source (V8 checks it only when it compiles, as in a new worker; a thread that compiled the same source before reuses that). */
  codeCacheUsed: boolean;
}

/**
 * The glue of a prepared component.
 * @throws Error when the component has no glue, or the glue does not load
 */
export async function loadGlue(prepared: Pick<PreparedComponent, 'id' | 'glueUrl' | 'glueScript'>): Promise<LoadedGlue> {
  const script = prepared.glueScript;
  if (script !== undefined) {
    const compiled = new Script(script.source, { filename: GLUE_SCRIPT_NAME, ...(script.codeCache === undefined ? {} : { cachedData: script.codeCache }) });
    const glue = (compiled.runInThisContext() as () => { instantiate: GlueInstantiate })();
    return { instantiate: glue.instantiate, codeCacheUsed: script.codeCache !== undefined && compiled.cachedDataRejected !== true };
  }
  if (prepared.glueUrl === undefined) throw new Error(`component ${prepared.id} has no glue`);
  const glue = (await import(prepared.glueUrl)) as { instantiate: GlueInstantiate };
  return { instantiate: glue.instantiate, codeCacheUsed: false };
}
