/**
 * Core modules that carry their component type (wit-bindgen 0.5 and later embed it in a
 * `component-type…` custom section: Spin 2 and 3 Rust and Go SDKs built for `wasm32-wasi(p1)`)
 * become components the way Spin's crates/componentize `componentize_new_bindgen` makes them:
 * the module plus the WASI preview1 reactor adapter, encoded by wit-component. jco ships both
 * (its `componentNew` and `preview1AdapterReactorPath()`), so nothing but the module is needed.
 * Older modules (wit-bindgen 0.2, or none) are not converted: the Spin 1 host runs those as they are.
 */

/** Names of a core module's custom sections, in order. */
export function customSectionNames(bytes: Uint8Array): string[] {
  const names: string[] = [];
  let pos = 8;
  const readU32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++];
      if (b === undefined) throw new RangeError('truncated module');
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = readU32();
    const end = pos + size;
    if (end > bytes.length) throw new RangeError('truncated module section');
    if (id === 0) {
      const len = readU32();
      names.push(Buffer.from(bytes.buffer, bytes.byteOffset + pos, Math.min(len, end - pos)).toString('utf8'));
    }
    pos = end;
  }
  return names;
}

/** Whether a core module embeds its component type (wit-bindgen ≥0.5) and so is converted into a component at load. */
export function embedsComponentType(bytes: Uint8Array): boolean {
  return customSectionNames(bytes).some((name) => name.startsWith('component-type'));
}

/**
 * Encodes a core module that embeds its component type as a component, adapting its WASI
 * preview1 imports with the preview1 reactor adapter jco ships.
 * @throws Error from wit-component when the module's metadata and imports do not agree
 */
export async function componentizeModule(bytes: Uint8Array): Promise<Uint8Array> {
  const [{ componentNew, preview1AdapterReactorPath }, { readFile }] = await Promise.all([import('@bytecodealliance/jco'), import('node:fs/promises')]);
  const adapter = new Uint8Array(await readFile(preview1AdapterReactorPath()));
  return componentNew(bytes, [['wasi_snapshot_preview1', adapter]]);
}
