/**
 * Interface versions whose functions are `async` (Spin 3.4+/4's `spin:*` packages and WASI 0.3):
 * calling them needs the component model's async ABI, which jco's synchronous glue and Node 20's
 * lack of JSPI cannot provide yet. A component importing one is refused at load with that said,
 * rather than as an unknown interface.
 */
const ASYNC_VERSIONS: ReadonlyArray<[name: string, version: RegExp, instead: string | undefined]> = [
  ['spin:redis/redis', /^3\./, 'fermyon:spin/redis@2.0.0'],
  ['spin:mysql/mysql', /^3\./, 'fermyon:spin/mysql@2.0.0'],
  ['spin:mqtt/mqtt', /^3\./, 'fermyon:spin/mqtt@2.0.0'],
  ['spin:postgres/postgres', /^4\.([2-9]|\d{2,})\./, 'spin:postgres/postgres@4.1.0'],
  ['spin:key-value/key-value', /^3\./, 'fermyon:spin/key-value@2.0.0'],
  ['spin:sqlite/sqlite', /^3\.([1-9]|\d{2,})\./, undefined],
  ['spin:variables/variables', /^3\./, 'fermyon:spin/variables@2.0.0'],
];

/** Whether `import` (`name@version`) is an interface version whose functions are async. */
export function isAsyncInterface(versioned: string): boolean {
  return asyncAlternative(versioned) !== null;
}

/** For an async interface version: the sync version to target instead (undefined when none); null when not async. */
export function asyncAlternative(versioned: string): string | undefined | null {
  const at = versioned.indexOf('@');
  if (at < 0) return null;
  const name = versioned.slice(0, at);
  const version = versioned.slice(at + 1);
  if (/^wasi:/.test(name) && /^0\.3\./.test(version)) return undefined;
  for (const [n, v, instead] of ASYNC_VERSIONS) if (n === name && v.test(version)) return instead;
  return null;
}

/**
 * The load-time refusal for components importing async interface versions, naming each.
 * @returns undefined when `imports` has none
 */
export function asyncImportsMessage(componentId: string, imports: readonly string[]): string | undefined {
  const found = imports.filter(isAsyncInterface);
  if (found.length === 0) return undefined;
  const hints = found.map((name) => {
    const instead = asyncAlternative(name);
    return typeof instead === 'string' ? `${name} (build against ${instead} instead)` : name;
  });
  return `Component "${componentId}" imports ${hints.join(', ')}, whose functions are async: component-model async is not supported yet. Rebuild it against the synchronous interface versions.`;
}
