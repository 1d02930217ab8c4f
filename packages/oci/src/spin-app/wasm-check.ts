// Spin refuses to push a component or dependency source that is not Wasm
// (`crates/oci/src/validate.rs`: a component, a core module, or WAT text).

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/**
 * True for a Wasm binary (core module version 1, or a component: version 0x0d, layer 1) or
 * WAT text (`(module` or `(component` after whitespace and comments). Spin parses WAT
 * fully; here WAT is recognised by its first form, which tells text apart from Wasm as
 * Spin's check is meant to, without a WAT parser in the library.
 */
export function looksLikeWasm(head: Uint8Array): boolean {
  if (MAGIC.every((byte, i) => head[i] === byte)) {
    const version = [head[4], head[5], head[6], head[7]];
    const core = version[0] === 0x01 && version[1] === 0x00 && version[2] === 0x00 && version[3] === 0x00;
    const component = version[0] === 0x0d && version[1] === 0x00 && version[2] === 0x01 && version[3] === 0x00;
    return core || component;
  }
  return /^(?:\s|;;[^\n]*\n|\(;[\s\S]*?;\))*\((?:module|component)\b/.test(Buffer.from(head).toString('utf8'));
}

/** Bytes read from the start of a source to decide {@link looksLikeWasm}. */
export const WASM_CHECK_BYTES = 4096;
