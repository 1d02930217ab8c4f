/**
 * A small reader and writer for the WebAssembly binary format (core modules, spec §5): just what
 * the prepare step needs to look at a module's sections and add exports, without decoding code.
 */

/** Thrown when bytes are not a well-formed core module (or use an encoding this reader does not know). */
export class WasmFormatError extends Error {
  constructor(message: string, at: number) {
    super(`${message} (at byte ${at})`);
    this.name = 'WasmFormatError';
  }
}

/** Sequential reads over a byte range. */
export class WasmReader {
  pos: number;
  readonly end: number;
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) throw new WasmFormatError('unexpected end', this.pos);
    return this.bytes[this.pos++] as number;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (result > 0xffff_ffff) throw new WasmFormatError('u32 out of range', this.pos);
        return result;
      }
    }
    throw new WasmFormatError('u32 too long', this.pos);
  }

  /** Skips a signed LEB128 of at most `bits` bits (constants and block types are skipped, never used). */
  skipLeb(bits: 32 | 33 | 64): void {
    const max = Math.ceil(bits / 7);
    for (let i = 0; i < max; i++) if ((this.u8() & 0x80) === 0) return;
    throw new WasmFormatError(`s${bits} too long`, this.pos);
  }

  /** A signed LEB128 that fits 33 bits, as a number (heap types). */
  s33(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      if (shift >= 35) throw new WasmFormatError('s33 too long', this.pos);
      byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((byte & 0x80) !== 0);
    if ((byte & 0x40) !== 0) result -= 2 ** shift;
    return result;
  }

  skip(n: number): void {
    if (this.pos + n > this.end) throw new WasmFormatError('unexpected end', this.pos);
    this.pos += n;
  }

  bytesOf(n: number): Uint8Array {
    const start = this.pos;
    this.skip(n);
    return this.bytes.subarray(start, start + n);
  }

  name(): string {
    const n = this.u32();
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytesOf(n));
  }
}

/** One section of a module: its id and where its payload lies. */
export interface Section {
  id: number;
  /** Offset of the section's id byte. */
  start: number;
  /** Payload range. */
  payloadStart: number;
  end: number;
}

/** The standard sections' ids. */
export const SECTION = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;

// Where each non-custom section must appear (the tag section sits between memory and global).
const ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

/** The order rank of a non-custom section id (used to insert a section where it belongs). */
export function sectionRank(id: number): number {
  const rank = ORDER[id];
  if (rank === undefined) throw new WasmFormatError(`unknown section id ${id}`, 0);
  return rank;
}

/**
 * Splits a core module into its sections, checking the header and that each section lies within
 * the bytes and that non-custom sections appear once each, in order.
 * @throws WasmFormatError
 */
export function readSections(bytes: Uint8Array): Section[] {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.length < 8 || header.some((b, i) => bytes[i] !== b)) throw new WasmFormatError('not a core WebAssembly module (bad header)', 0);
  const reader = new WasmReader(bytes, 8);
  const sections: Section[] = [];
  let lastRank = 0;
  while (!reader.done) {
    const start = reader.pos;
    const id = reader.u8();
    const size = reader.u32();
    const payloadStart = reader.pos;
    reader.skip(size);
    if (id !== SECTION.custom) {
      const rank = sectionRank(id);
      if (rank <= lastRank) throw new WasmFormatError(`section ${id} out of order or repeated`, start);
      lastRank = rank;
    }
    sections.push({ id, start, payloadStart, end: reader.pos });
  }
  return sections;
}

/** Unsigned LEB128 encoding of `value`. */
export function encodeU32(value: number): number[] {
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

/** A name as the binary format encodes it (length, UTF-8). */
export function encodeName(name: string): number[] {
  const utf8 = new TextEncoder().encode(name);
  return [...encodeU32(utf8.length), ...utf8];
}

/** A whole section: id, payload size, payload. */
export function encodeSection(id: number, payload: Uint8Array | number[]): Uint8Array {
  const size = encodeU32(payload.length);
  const out = new Uint8Array(1 + size.length + payload.length);
  out[0] = id;
  out.set(size, 1);
  out.set(payload, 1 + size.length);
  return out;
}
