// Spinel's static file server component (the `static-fileserver` template's): serves the files
// its manifest mounts at `/`, for the part of the URL after the route (`spin-path-info`).
// GET and HEAD; Content-Type by extension; a strong ETag from the content with
// If-None-Match → 304; `index.html` for a directory; 404 otherwise. A path with `..`, a
// backslash or a NUL never reaches the filesystem (the host confines the mount as well).
// Environment (all optional, as Spin's fileserver reads them): CACHE_CONTROL (default
// `max-age=60`), FALLBACK_PATH (a file served with 200 instead of a 404, for single-page apps),
// CUSTOM_404_PATH (a file served as the 404 body).
import { getEnvironment } from 'wasi:cli/environment@0.2.10';
import { getDirectories } from 'wasi:filesystem/preopens@0.2.10';

const TEXT = 'charset=utf-8';
const CONTENT_TYPES = {
  html: `text/html; ${TEXT}`,
  htm: `text/html; ${TEXT}`,
  css: `text/css; ${TEXT}`,
  js: `text/javascript; ${TEXT}`,
  mjs: `text/javascript; ${TEXT}`,
  json: `application/json`,
  map: `application/json`,
  txt: `text/plain; ${TEXT}`,
  md: `text/markdown; ${TEXT}`,
  csv: `text/csv; ${TEXT}`,
  xml: `application/xml`,
  svg: `image/svg+xml`,
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  wasm: 'application/wasm',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
  webm: 'video/webm',
  webmanifest: 'application/manifest+json',
  yaml: `application/yaml`,
  yml: `application/yaml`,
  toml: `application/toml`,
};

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response('Method Not Allowed\n', { status: 405, headers: { allow: 'GET, HEAD', 'content-type': `text/plain; ${TEXT}` } });
  }
  const env = new Map(getEnvironment());
  const root = rootDirectory();
  const pathInfo = request.headers.get('spin-path-info') ?? new URL(request.url).pathname;
  const segments = safeSegments(pathInfo);
  let found = root === undefined || segments === undefined ? undefined : lookup(root, segments);
  let status = 200;
  if (found === undefined && root !== undefined) {
    const fallback = env.get('FALLBACK_PATH');
    const custom404 = env.get('CUSTOM_404_PATH');
    if (fallback !== undefined && fallback !== '') {
      found = lookupPath(root, fallback);
    } else if (custom404 !== undefined && custom404 !== '') {
      found = lookupPath(root, custom404);
      status = 404;
    }
  }
  if (found === undefined) {
    return new Response(request.method === 'HEAD' ? null : 'Not Found\n', { status: 404, headers: { 'content-type': `text/plain; ${TEXT}` } });
  }
  const body = readAll(found.descriptor);
  const etag = `"${await digest(body)}"`;
  const headers = {
    'content-type': contentType(found.name),
    etag,
    'cache-control': env.get('CACHE_CONTROL') ?? 'max-age=60',
  };
  if (status === 200 && matches(request.headers.get('if-none-match'), etag)) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(request.method === 'HEAD' ? null : body, { status, headers });
}

function rootDirectory() {
  for (const [descriptor, path] of getDirectories()) {
    if (path === '/') return descriptor;
  }
  return undefined;
}

/** The path's segments, or undefined when it tries to leave the root or is not a plain path. */
function safeSegments(path) {
  let decoded;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const out = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') return undefined;
    out.push(segment);
  }
  return out;
}

function lookupPath(root, path) {
  const segments = safeSegments(path);
  return segments === undefined ? undefined : lookup(root, segments);
}

/** Opens a regular file, or a directory's index.html. */
function lookup(root, segments) {
  const candidates = segments.length === 0 ? ['index.html'] : [segments.join('/'), `${segments.join('/')}/index.html`];
  for (const path of candidates) {
    let descriptor;
    try {
      descriptor = root.openAt({ symlinkFollow: false }, path, {}, { read: true });
    } catch {
      continue;
    }
    let type;
    try {
      type = descriptor.stat().type;
    } catch {
      continue;
    }
    if (type === 'regular-file') return { descriptor, name: path };
  }
  return undefined;
}

function readAll(descriptor) {
  const chunks = [];
  let offset = 0n;
  let total = 0;
  for (;;) {
    const [bytes, end] = descriptor.read(1048576n, offset);
    if (bytes.length > 0) {
      chunks.push(bytes);
      total += bytes.length;
      offset += BigInt(bytes.length);
    }
    if (end || bytes.length === 0) break;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function contentType(name) {
  const base = name.split('/').pop() ?? '';
  const dot = base.lastIndexOf('.');
  const ext = dot < 0 ? '' : base.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

/** A content digest for the ETag: SHA-256 when the engine has Web Crypto, else FNV-1a (64-bit). */
async function digest(bytes) {
  try {
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return Array.from(hash.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
  } catch {
    let h = 0xcbf29ce484222325n;
    for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    return h.toString(16).padStart(16, '0');
  }
}

/** If-None-Match (weak comparison, as RFC 9110 asks for it): `*` or any listed tag. */
function matches(header, etag) {
  if (header === null) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}
