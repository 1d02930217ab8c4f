/** What a Wasm binary's header says it is. */
export type WasmBinaryKind = 'component' | 'module';

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/**
 * Recognises a core module or a component by its 8-byte header (magic, version, layer).
 * @returns undefined when the bytes are not Wasm at all
 */
export function detectWasmKind(bytes: Uint8Array): WasmBinaryKind | undefined {
  if (bytes.length < 8) return undefined;
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) return undefined;
  // Bytes 6-7 are the layer: 0 for core modules (version 1), 1 for components.
  const layer = (bytes[6] ?? 0) | ((bytes[7] ?? 0) << 8);
  if (layer === 0 && bytes[4] === 1 && bytes[5] === 0) return 'module';
  if (layer === 1) return 'component';
  return undefined;
}

function readUleb(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  let pos = offset;
  for (;;) {
    const byte = bytes[pos++];
    if (byte === undefined) throw new RangeError('truncated LEB128');
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7;
  }
}

function writeUleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Result of capping a core module's memories. */
export interface CappedModule {
  bytes: Uint8Array;
  /** Largest initial size (pages) of a memory the module defines; above the cap the module cannot start. */
  maxInitialPages: number;
}

/**
 * Rewrites the memory section of a core module so each memory it defines has a maximum of at most
 * `maxPages` pages: growth past it makes `memory.grow` return -1 inside the guest, which is how a
 * guest learns it is out of memory, instead of the host running out.
 */
export function capModuleMemory(bytes: Uint8Array, maxPages: number): CappedModule {
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos] ?? 0;
    const [size, bodyStart] = readUleb(bytes, pos + 1);
    const bodyEnd = bodyStart + size;
    if (id === 5) {
      let p = bodyStart;
      const [count, afterCount] = readUleb(bytes, p);
      p = afterCount;
      const body: number[] = [...writeUleb(count)];
      let maxInitialPages = 0;
      for (let i = 0; i < count; i++) {
        const flags = bytes[p++] ?? 0;
        if ((flags & 0x04) !== 0) return { bytes, maxInitialPages: 0 }; // memory64: leave alone
        const [initial, afterInitial] = readUleb(bytes, p);
        p = afterInitial;
        let max: number | undefined;
        if ((flags & 0x01) !== 0) {
          const [m, afterMax] = readUleb(bytes, p);
          max = m;
          p = afterMax;
        }
        maxInitialPages = Math.max(maxInitialPages, initial);
        const cappedMax = Math.max(initial, Math.min(max ?? maxPages, maxPages));
        body.push(flags | 0x01, ...writeUleb(initial), ...writeUleb(cappedMax));
      }
      const section = [5, ...writeUleb(body.length), ...body];
      const out = new Uint8Array(bytes.length - (bodyEnd - pos) + section.length);
      out.set(bytes.subarray(0, pos), 0);
      out.set(section, pos);
      out.set(bytes.subarray(bodyEnd), pos + section.length);
      return { bytes: out, maxInitialPages };
    }
    pos = bodyEnd;
  }
  return { bytes, maxInitialPages: 0 };
}
