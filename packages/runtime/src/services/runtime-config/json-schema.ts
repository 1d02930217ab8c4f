import { RUNTIME_CONFIG_SECTIONS } from './sections.js';
import { table, type JsonSchema } from './spec.js';

/**
 * The JSON schema (draft-07) of runtime-config files, made from the same section table the
 * reader checks files with. Shipped as `@spinel/runtime/runtime-config.schema.json` so editors
 * (taplo / Even Better TOML) can complete and check a runtime-config file.
 */
export function runtimeConfigJsonSchema(): JsonSchema {
  const root = table(RUNTIME_CONFIG_SECTIONS).schema();
  const properties = root['properties'] as Record<string, JsonSchema>;
  properties['config_provider'] = { ...properties['config_provider'], description: 'Old name of variables_provider (use one of the two).' };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://spinel.dev/schema/runtime-config.schema.json',
    title: 'Spin runtime config (--runtime-config-file)',
    description:
      'Runtime config as Spinel reads it (a subset of Spin\'s: sections Spinel does not provide are refused at start). Point your editor\'s TOML support at it for completion and checks.',
    ...root,
    not: { required: ['variables_provider', 'config_provider'] },
  };
}
