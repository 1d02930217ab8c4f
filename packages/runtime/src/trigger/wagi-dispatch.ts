/**
 * WAGI dispatch (Spin's WAGI executor): the request body becomes stdin, the request the CGI
 * environment and argv, and the module's stdout is parsed as a CGI response. The module runs on
 * the executor's workers with the component's own `files` mounts.
 */
import type * as http from 'node:http';
import type { ExecuteOptions, Executor } from '../pool/executor-types.js';
import type { RequestContext } from './request-metadata.js';
import type { RouteMatch } from './router.js';
import type { HttpHandler } from './trigger-config.js';
import { buildArgv, buildCgiEnv, parseCgiResponse, type CgiResponse } from './wagi-cgi.js';

/** What WAGI dispatch needs of the trigger. */
export interface WagiDispatchContext {
  executor: Executor;
  /** Each component's manifest environment. */
  componentEnv: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** `--env` pairs, over the manifest's. */
  env: Readonly<Record<string, string>>;
}

/**
 * Runs a WAGI route's module for one request and parses its output.
 * @throws Error when the module exits non-zero or writes nothing (the trigger answers 500), or what the executor throws
 */
export async function dispatchWagi(
  context: WagiDispatchContext,
  req: http.IncomingMessage,
  handler: Extract<HttpHandler, { kind: 'wagi' }>,
  match: RouteMatch<HttpHandler>,
  ctx: RequestContext,
  body: AsyncIterable<Uint8Array>,
  execOptions: ExecuteOptions,
): Promise<CgiResponse> {
  const stdin = await collect(body);
  const cgi = buildCgiEnv({ method: req.method ?? 'GET', httpVersion: req.httpVersion, rawHeaders: req.rawHeaders, contentLength: stdin.length }, match, ctx);
  // As in Spin: the component's environment and --env first, the CGI variables over them.
  const merged = new Map<string, string>([...Object.entries(context.componentEnv.get(handler.componentId) ?? {}), ...Object.entries(context.env), ...cgi]);
  const result = await context.executor.runWagi(handler.componentId, { env: [...merged], argv: buildArgv(handler.argv, ctx.pathAndQuery), stdin }, execOptions);
  if (result.exitCode !== 0) throw new Error(`The ${JSON.stringify(handler.componentId)} component exited with code ${result.exitCode}.`);
  if (result.stdout.length === 0) {
    throw new Error(`The ${JSON.stringify(handler.componentId)} component is configured to use the WAGI executor but did not write to stdout. Check the \`executor\` in spin.toml.`);
  }
  return parseCgiResponse(result.stdout);
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of body) {
    chunks.push(c);
    size += c.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
