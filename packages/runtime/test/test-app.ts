import { pathToFileURL } from 'node:url';
import type { LockedApp, LockedComponent } from '@spinel/manifest';

/** A locked app with one HTTP trigger per component (tests only). */
export function testApp(components: Array<{ id: string; path: string; wagi?: boolean } & Partial<LockedComponent>>): LockedApp {
  return {
    triggers: components.map(({ id, wagi }) => ({
      id: `${id}-trigger`,
      trigger_type: 'http',
      trigger_config: wagi === true ? { component: id, route: `/${id}`, executor: { type: 'wagi' } } : { component: id, route: `/${id}` },
    })),
    components: components.map(({ id, path, wagi: _wagi, ...rest }) => ({
      ...rest,
      id,
      source: { content_type: 'application/wasm', source: pathToFileURL(path).href },
    })),
  };
}

/** A request body from strings. */
export async function* bodyOf(...chunks: string[]): AsyncIterable<Uint8Array> {
  for (const chunk of chunks) yield new TextEncoder().encode(chunk);
}

/** Reads a whole response body. */
export async function readAll(body: AsyncIterable<Uint8Array>): Promise<{ text: string; bytes: number; chunks: number }> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk));
  const all = Buffer.concat(parts);
  return { text: all.toString('utf8'), bytes: all.length, chunks: parts.length };
}
