import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCache } from '@spinel/cache';
import { watComponentWithImport } from '@spinel/test-utils';
import { describe, expect, it } from 'vitest';
import { WASI_INTERFACES } from '../guest/wasi/interface-specs.js';
import { InterfaceSet } from './interface-set.js';
import { prepareComponent } from './prepare-component.js';
import { unsupportedImportsMessage } from './unsupported-imports-message.js';

// A minimal slice of Spin's wit/deps/spin@2.0.0/llm.wit: the refusal depends on the name only.
const LLM_WIT = `package fermyon:spin@2.0.0;
interface llm {
  infer: func(model: string, prompt: string) -> string;
}
`;

describe('load-time refusal of imports the host does not provide', () => {
  it('says LLM inferencing is not supported for fermyon:spin/llm, in any version', () => {
    const message = unsupportedImportsMessage('ai', ['fermyon:spin/llm@2.0.0', 'fermyon:spin/llm', 'spinel:x/y@1.0.0', 'spin:sqlite/sqlite@3.1.0']);
    expect(message).toContain('Component "ai" imports fermyon:spin/llm@2.0.0, fermyon:spin/llm: LLM inferencing is not supported by Spinel');
    expect(message).toContain('spin:sqlite/sqlite@3.1.0, whose functions are async: component-model async is not supported yet');
    expect(message).toContain('imports interfaces this host does not provide: spinel:x/y@1.0.0.');
  });

  it('refuses a component importing fermyon:spin/llm@2.0.0 when it is loaded, naming it', async () => {
    const path = await watComponentWithImport({
      packageWit: LLM_WIT,
      importName: 'fermyon:spin/llm@2.0.0',
      coreImport: '(import "fermyon:spin/llm@2.0.0" "infer" (func $infer (param i32 i32 i32 i32 i32)))',
    });
    const dir = await mkdtemp(join(tmpdir(), 'spinel-llm-'));
    try {
      const error = await prepareComponent(
        { id: 'ai', source: { content_type: 'application/wasm', source: pathToFileURL(path).href } },
        { cache: openCache({ root: join(dir, 'cache') }), kind: 'http', env: {}, interfaces: new InterfaceSet(WASI_INTERFACES) },
      ).then(
        () => { throw new Error("expected a refusal"); },
        (err: unknown) => err as Error & { code: string; componentId: string },
      );
      expect(error).toMatchObject({ code: 'RUNTIME_UNSUPPORTED_IMPORTS', componentId: 'ai' });
      expect(error.message).toBe(
        'Component "ai" imports fermyon:spin/llm@2.0.0: LLM inferencing is not supported by Spinel (there is no inferencing engine, and [llm_compute] in the runtime config is refused). Run this component with Spin, or remove its use of the LLM interface.',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
