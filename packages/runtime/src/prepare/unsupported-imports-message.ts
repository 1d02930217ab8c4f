/**
 * The load-time refusal of a component importing interfaces the host does not provide, saying
 * why where there is more to say than "not provided": async interface versions, and Spin's LLM
 * interfaces (Spinel has no inferencing engine; Spin's `[llm_compute]` has no counterpart).
 */
import { asyncImportsMessage, isAsyncInterface } from './async-interfaces.js';
import { interfaceKey } from './interface-set.js';

/** Spin's LLM interface, at any version (`fermyon:spin/llm@2.0.0`, Spin 1's unversioned `fermyon:spin/llm`). */
const LLM_INTERFACES = new Set(['fermyon:spin/llm', 'spin:llm/llm']);

/** The message for `missing` (the imports of `componentId` no interface set accepts). */
export function unsupportedImportsMessage(componentId: string, missing: readonly string[]): string {
  const parts: string[] = [];
  const llm = missing.filter((name) => LLM_INTERFACES.has(interfaceKey(name)));
  if (llm.length > 0) {
    parts.push(`Component "${componentId}" imports ${llm.join(', ')}: LLM inferencing is not supported by Spinel (there is no inferencing engine, and [llm_compute] in the runtime config is refused). Run this component with Spin, or remove its use of the LLM interface.`);
  }
  const asyncMessage = asyncImportsMessage(componentId, missing);
  if (asyncMessage !== undefined) parts.push(asyncMessage);
  const rest = missing.filter((name) => !LLM_INTERFACES.has(interfaceKey(name)) && !isAsyncInterface(name));
  if (rest.length > 0) {
    parts.push(`Component "${componentId}" imports interfaces this host does not provide: ${rest.join(', ')}. Remove those imports or run it on a host that provides them.`);
  }
  return parts.join('\n');
}
