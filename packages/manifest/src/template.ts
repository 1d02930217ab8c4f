/**
 * Spin's `{{ variable }}` templates (spin-expressions): literal text with `{{ name }}`
 * segments naming application variables.
 */
import { ManifestError } from './errors.js';

/** One piece of a template: literal text or a variable reference. */
export type TemplatePart = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'variable'; readonly name: string };

/**
 * Splits a template into parts.
 *
 * @throws {ManifestError} `MANIFEST_INVALID_TEMPLATE` for `{{` without a closing `}}`.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let rest = template;
  while (rest.length > 0) {
    if (rest.startsWith('{{')) {
      const end = rest.indexOf('}}', 2);
      if (end < 0) {
        throw new ManifestError(
          'MANIFEST_INVALID_TEMPLATE',
          `invalid variable template ${JSON.stringify(template)}: unmatched '{{' in template; close it with '}}'.`,
        );
      }
      parts.push({ kind: 'variable', name: rest.slice(2, end).trim() });
      rest = rest.slice(end + 2);
    } else {
      const next = rest.indexOf('{{');
      const lit = next < 0 ? rest : rest.slice(0, next);
      parts.push({ kind: 'literal', text: lit });
      rest = next < 0 ? '' : rest.slice(next);
    }
  }
  return parts;
}

/** True when the template has no `{{ }}` segment. */
export function isLiteralTemplate(parts: readonly TemplatePart[]): boolean {
  return parts.every((p) => p.kind === 'literal');
}

/** The variable names a template refers to, in order. */
export function templateVariables(parts: readonly TemplatePart[]): string[] {
  return parts.flatMap((p) => (p.kind === 'variable' ? [p.name] : []));
}

/**
 * Substitutes variable values; returns `undefined` when a referenced variable has no value.
 */
export function renderTemplate(parts: readonly TemplatePart[], values: Readonly<Record<string, string | undefined>>): string | undefined {
  let out = '';
  for (const p of parts) {
    if (p.kind === 'literal') out += p.text;
    else {
      const v = Object.prototype.hasOwnProperty.call(values, p.name) ? values[p.name] : undefined;
      if (v === undefined) return undefined;
      out += v;
    }
  }
  return out;
}
