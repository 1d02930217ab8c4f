// `pnpm --filter @spinel/runtime schema`: rewrites schema/runtime-config.schema.json from the
// section table (src/services/runtime-config/sections.ts). A test fails when the two differ.
import { writeFileSync } from 'node:fs';
import { runtimeConfigJsonSchema } from '../src/services/runtime-config/json-schema.js';

const target = new URL('../schema/runtime-config.schema.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(runtimeConfigJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
