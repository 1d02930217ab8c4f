import type { Liquid } from 'liquidjs';
import { CliError } from '../errors.js';
import { TEMPLATE_FILTERS } from './filters.js';

/** The Liquid engine a template renders with. */
export type LiquidEngine = Liquid;

/**
 * A Liquid engine configured as Spin's (Rust `liquid` with the standard library and Spin's
 * filters): unknown filters and undefined variables are errors, partials come only from the
 * template's `metadata/partials` (by file name, with or without `.liquid`), and nothing is
 * read from the filesystem: a template cannot `include` a file from the user's disk. Render
 * time and memory are capped, since a template is untrusted input.
 */
export async function createLiquid(partials: Readonly<Record<string, string>>): Promise<LiquidEngine> {
  const { Liquid } = await import('liquidjs');
  const templates: Record<string, string> = {};
  for (const [name, text] of Object.entries(partials)) {
    templates[name] = text;
    if (name.endsWith('.liquid')) templates[name.slice(0, -'.liquid'.length)] = text;
  }
  const engine = new Liquid({
    strictFilters: true,
    strictVariables: true,
    templates,
    relativeReference: false,
    renderLimit: 10_000,
    memoryLimit: 256 * 1024 * 1024,
    parseLimit: 64 * 1024 * 1024,
  });
  for (const [name, filter] of Object.entries(TEMPLATE_FILTERS)) {
    engine.registerFilter(name, (input: unknown) => filter(String(input ?? '')));
  }
  return engine;
}

/** Renders a parsed template with the run's values. @throws {CliError} `CLI_TEMPLATE_RENDER` */
export async function renderLiquid(engine: LiquidEngine, template: { parsed: ReturnType<LiquidEngine['parse']>; origin: string }, globals: Record<string, string>): Promise<string> {
  try {
    return (await engine.render(template.parsed, globals)) as string;
  } catch (cause) {
    throw new CliError('CLI_TEMPLATE_RENDER', `Failed to render ${template.origin}: ${(cause as Error).message}`, { cause });
  }
}
