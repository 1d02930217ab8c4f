/**
 * Spin's start-up listing: `Serving <base url>` and `Available Routes:` (plain), or
 * `{base_url, routes}` (`--format json`). Returns text; printing is the caller's.
 */
import type { ListedRoute } from './router.js';

/** A route as listed, with its component's description. */
export interface AvailableRoute extends ListedRoute {
  description?: string;
}

/** Output formats of `spinel up`. */
export type OutputFormat = 'plain' | 'json';

/** The start-up text Spin prints, ending with a newline. */
export function formatStartup(baseUrl: string, routes: readonly AvailableRoute[], format: OutputFormat): string {
  if (format === 'json') {
    const json = {
      base_url: baseUrl,
      routes: routes.map((r) => ({ id: r.id, route: r.path, wildcard: r.wildcard, ...(r.description !== undefined ? { description: r.description } : {}) })),
    };
    return `${JSON.stringify(json, null, 2)}\n`;
  }
  let out = `\nServing ${baseUrl}\nAvailable Routes:\n`;
  for (const r of routes) {
    out += `  ${r.id}: ${baseUrl}${r.path}${r.wildcard ? ' (wildcard)' : ''}\n`;
    if (r.description !== undefined) out += `    ${r.description}\n`;
  }
  return out;
}
