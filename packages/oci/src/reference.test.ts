import { describe, expect, it } from 'vitest';
import { formatReference, isLoopbackRegistry, normaliseServer, parseReference } from './reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['alpine', { registry: 'index.docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['docker.io/alpine:3', { registry: 'index.docker.io', repository: 'library/alpine', tag: '3' }],
    ['registry-1.docker.io/org/app', { registry: 'index.docker.io', repository: 'org/app', tag: 'latest' }],
    ['org/app:v1', { registry: 'index.docker.io', repository: 'org/app', tag: 'v1' }],
    ['ghcr.io/org/app:1.0', { registry: 'ghcr.io', repository: 'org/app', tag: '1.0' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['localhost:5000/a/b/c:t', { registry: 'localhost:5000', repository: 'a/b/c', tag: 't' }],
    ['127.0.0.1:5000/app', { registry: '127.0.0.1:5000', repository: 'app', tag: 'latest' }],
    ['[::1]:5000/app:x', { registry: '[::1]:5000', repository: 'app', tag: 'x' }],
    [`ghcr.io/org/app@${DIGEST}`, { registry: 'ghcr.io', repository: 'org/app', digest: DIGEST }],
    [`ghcr.io/org/app:1@${DIGEST}`, { registry: 'ghcr.io', repository: 'org/app', tag: '1', digest: DIGEST }],
    ['GHCR.IO/org/app', { registry: 'ghcr.io', repository: 'org/app', tag: 'latest' }],
  ])('%s', (text, expected) => {
    expect(parseReference(text)).toEqual(expected);
  });

  it.each([
    '',
    'Org/App',
    'ghcr.io/',
    'ghcr.io/org/app:',
    'ghcr.io/org/app@sha256:abc',
    'https://ghcr.io/org/app',
    'ghcr.io/org/app:-bad',
    'a b',
    'ghcr.io/org//app',
    `ghcr.io/${'a'.repeat(256)}`,
  ])('rejects %j with OCI_INVALID_REFERENCE', (text) => {
    expect(() => parseReference(text)).toThrow(expect.objectContaining({ code: 'OCI_INVALID_REFERENCE' }));
  });

  it('uses the default tag only when no tag or digest is given', () => {
    expect(parseReference('ghcr.io/a/b', { defaultTag: 'dev' }).tag).toBe('dev');
    expect(parseReference(`ghcr.io/a/b@${DIGEST}`, { defaultTag: 'dev' }).tag).toBeUndefined();
  });

  it('formats back to the normalised text', () => {
    expect(formatReference(parseReference('alpine'))).toBe('index.docker.io/library/alpine:latest');
    expect(formatReference(parseReference(`localhost:5000/a@${DIGEST}`))).toBe(`localhost:5000/a@${DIGEST}`);
  });
});

describe('normaliseServer', () => {
  it.each([
    ['https://ghcr.io', 'ghcr.io'],
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['docker.io', 'index.docker.io'],
    ['localhost:5000', 'localhost:5000'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
  ])('%s -> %s', (text, expected) => {
    expect(normaliseServer(text)).toBe(expected);
  });

  it('rejects garbage', () => {
    expect(() => normaliseServer('not a host')).toThrow(expect.objectContaining({ code: 'OCI_INVALID_REFERENCE' }));
  });
});

describe('isLoopbackRegistry', () => {
  it.each([
    ['localhost:5000', true],
    ['127.0.0.1', true],
    ['127.1.2.3:80', true],
    ['[::1]:5000', true],
    ['ghcr.io', false],
    ['128.0.0.1:5000', false],
    ['localhost.example.com', false],
  ])('%s -> %s', (host, expected) => {
    expect(isLoopbackRegistry(host)).toBe(expected);
  });
});
