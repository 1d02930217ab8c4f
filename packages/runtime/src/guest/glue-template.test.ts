import { describe, expect, it } from 'vitest';
import { GlueTemplate } from './glue-template.js';

/** A core module exporting a one-page `memory` and `grow(pages) -> previous pages` (memory.grow). */
const GROWING = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type: (i32) -> i32
  0x03, 0x02, 0x01, 0x00, // function 0 of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1 page
  0x07, 0x11, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x00, // exports
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b, // grow: local.get 0; memory.grow
]);

describe('GlueTemplate forwarding exports', () => {
  it("give the glue the current instance's memory buffer: the same object until the memory grows, then the grown one, and a new instance's after a refresh", () => {
    const module = new WebAssembly.Module(GROWING);
    const template = new GlueTemplate((getCoreModule, _imports, instantiateCore) => {
      if (instantiateCore === undefined) throw new Error('no instantiateCore');
      const { exports } = instantiateCore(getCoreModule('m'));
      return { memory: exports.memory, grow: exports.grow };
    }, () => module, {});
    const memory = template.exports.memory as { buffer: ArrayBuffer };
    const grow = template.exports.grow as (pages: number) => number;
    const first = memory.buffer;
    expect(first.byteLength).toBe(65536);
    expect(memory.buffer).toBe(first);
    new Uint8Array(memory.buffer)[10] = 42;

    expect(grow(1)).toBe(1);
    expect(first.byteLength).toBe(0); // detached by the growth
    const grown = memory.buffer;
    expect(grown.byteLength).toBe(2 * 65536);
    expect(new Uint8Array(grown)[10]).toBe(42);
    expect(memory.buffer).toBe(grown);

    template.refresh();
    const fresh = memory.buffer;
    expect(fresh.byteLength).toBe(65536);
    expect(new Uint8Array(fresh)[10]).toBe(0);
    expect(grow(2)).toBe(1); // the new instance's own memory, one page before
    expect(memory.buffer.byteLength).toBe(3 * 65536);
    expect(grown.byteLength).toBe(2 * 65536); // the old instance's memory is left as it was
  });
});
