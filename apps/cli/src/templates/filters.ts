/**
 * Spin's template filters (Spin's `crates/templates/src/filters.rs`): `kebab_case`,
 * `snake_case`, `pascal_case`, `dotted_pascal_case`, `http_wildcard`. The case filters split
 * words the way the `heck` crate Spin uses does, so a name renders to the same identifier
 * under both tools.
 */

/**
 * Splits text into words as heck does: on every non-alphanumeric character, between a
 * lower-case letter (or a digit after one) and an upper-case letter, and before the last
 * capital of a run followed by a lower-case letter (`HTTPServer` → `HTTP`, `Server`).
 */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const chunk of text.split(/[^\p{L}\p{N}]/u)) {
    const chars = [...chunk];
    let start = 0;
    // 0: at a boundary, 1: last cased char was lower, 2: upper
    let mode = 0;
    for (let i = 0; i < chars.length; i += 1) {
      const c = chars[i] as string;
      const next = chars[i + 1];
      if (next === undefined) {
        out.push(chars.slice(start).join(''));
        break;
      }
      const nextMode = isLower(c) ? 1 : isUpper(c) ? 2 : mode;
      if (nextMode === 1 && isUpper(next)) {
        out.push(chars.slice(start, i + 1).join(''));
        start = i + 1;
        mode = 0;
      } else if (mode === 2 && isUpper(c) && isLower(next)) {
        out.push(chars.slice(start, i).join(''));
        start = i;
        mode = 0;
      } else {
        mode = nextMode;
      }
    }
  }
  return out.filter((w) => w !== '');
}

function isLower(c: string): boolean {
  return c !== c.toUpperCase() && c === c.toLowerCase();
}

function isUpper(c: string): boolean {
  return c !== c.toLowerCase() && c === c.toUpperCase();
}

function capitalise(word: string): string {
  const [first = '', ...rest] = [...word];
  return first.toUpperCase() + rest.join('').toLowerCase();
}

/** `Hello World` → `hello-world`. */
export function kebabCase(text: string): string {
  return words(text)
    .map((w) => w.toLowerCase())
    .join('-');
}

/** `Hello World` → `hello_world`. */
export function snakeCase(text: string): string {
  return words(text)
    .map((w) => w.toLowerCase())
    .join('_');
}

/** `hello-world` → `HelloWorld`. */
export function pascalCase(text: string): string {
  return words(text).map(capitalise).join('');
}

/** `fermyon.pet-store` → `Fermyon.PetStore`. */
export function dottedPascalCase(text: string): string {
  return text.split('.').map(pascalCase).join('.');
}

/** Adds Spin's HTTP wildcard suffix when missing: `/static` → `/static/...`, `/a/` → `/a/...`. */
export function httpWildcard(route: string): string {
  if (route.endsWith('/...')) return route;
  if (route.endsWith('/')) return `${route}...`;
  return `${route}/...`;
}

/** Every filter by the name templates use. */
export const TEMPLATE_FILTERS: Readonly<Record<string, (text: string) => string>> = {
  kebab_case: kebabCase,
  snake_case: snakeCase,
  pascal_case: pascalCase,
  dotted_pascal_case: dottedPascalCase,
  http_wildcard: httpWildcard,
};
