import { ManifestUnknownError } from './errors.js';
import { dump, headerValue, mediaTypeOf, readLimited, responseError } from './http-response.js';
import { fetchManifest } from './manifests.js';
import { MediaType } from './media-types.js';
import type { RepositoryContext } from './repository-context.js';
import type { Descriptor, FetchedManifest, ImageIndex } from './types.js';

// Tags (with `Link` pagination) and referrers (with the tag-schema fallback) of a repository.

/** Every tag, following `Link` pagination. */
export async function listTags(ctx: RepositoryContext, options: { signal?: AbortSignal; pageSize?: number } = {}): Promise<string[]> {
  const tags: string[] = [];
  let path: string | undefined = `/v2/${ctx.repository}/tags/list?n=${options.pageSize ?? 1000}`;
  for (let page = 0; path !== undefined && page < 10_000; page++) {
    const res = await ctx.send({ method: 'GET', path, scopes: ctx.pullScopes, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    if (res.status === 404) {
      await dump(res);
      return tags;
    }
    if (res.status !== 200) throw await responseError(res, `listing tags of ${ctx.description}`, ctx.registry);
    const text = await readLimited(res.body, 16 * 1024 * 1024);
    const parsed = JSON.parse(text) as { tags?: unknown };
    if (Array.isArray(parsed.tags)) for (const t of parsed.tags) if (typeof t === 'string') tags.push(t);
    path = nextLink(headerValue(res.headers['link']), res.url);
  }
  return tags;
}

/** Manifests naming `digest` as their subject: the referrers API, or the `sha256-<hex>` tag schema without it. */
export async function referrers(ctx: RepositoryContext, digest: string, options: { artifactType?: string; signal?: AbortSignal } = {}): Promise<Descriptor[]> {
  const result: Descriptor[] = [];
  const query = options.artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(options.artifactType)}`;
  let path: string | undefined = `/v2/${ctx.repository}/referrers/${digest}${query}`;
  let filtered = false;
  for (let page = 0; path !== undefined && page < 1000; page++) {
    const res = await ctx.send({
      method: 'GET',
      path,
      headers: { accept: MediaType.OciIndex },
      scopes: ctx.pullScopes,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const type = mediaTypeOf(res.headers['content-type']);
    if (page === 0 && (res.status === 404 || (res.status === 200 && type !== MediaType.OciIndex))) {
      // No referrers API: fall back to the tag schema (`sha256-<hex>`).
      await dump(res);
      return referrersFromTag(ctx, digest, options);
    }
    if (res.status !== 200) throw await responseError(res, `listing referrers of ${digest} in ${ctx.description}`, ctx.registry);
    filtered ||= headerValue(res.headers['oci-filters-applied'])?.includes('artifactType') ?? false;
    const index = JSON.parse(await readLimited(res.body, ctx.settings.maxManifestBytes)) as ImageIndex;
    result.push(...(index.manifests ?? []));
    path = nextLink(headerValue(res.headers['link']), res.url);
  }
  return options.artifactType === undefined || filtered ? result : result.filter((d) => d.artifactType === options.artifactType);
}

async function referrersFromTag(ctx: RepositoryContext, digest: string, options: { artifactType?: string; signal?: AbortSignal }): Promise<Descriptor[]> {
  const tag = digest.replace(':', '-');
  let fetched: FetchedManifest;
  try {
    fetched = await fetchManifest(ctx, tag, { accept: [MediaType.OciIndex], ...(options.signal === undefined ? {} : { signal: options.signal }) });
  } catch (err) {
    if (err instanceof ManifestUnknownError) return [];
    throw err;
  }
  const index = JSON.parse(fetched.bytes.toString('utf8')) as ImageIndex;
  const manifests = Array.isArray(index.manifests) ? index.manifests : [];
  return options.artifactType === undefined ? manifests : manifests.filter((d) => d.artifactType === options.artifactType);
}

/** The path of the `rel="next"` entry of a `Link` header. */
function nextLink(link: string | undefined, base: URL): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim());
    if (m?.[1]) {
      const url = new URL(m[1], base);
      return url.origin === base.origin ? `${url.pathname}${url.search}` : undefined;
    }
  }
  return undefined;
}
