/**
 * The names a component binary imports and exports at its top level, read from its import and
 * export sections (the component model's binary format, `Binary.md` of
 * WebAssembly/component-model). Names come with their versions (`wasi:http/types@0.2.3`), which
 * is what handler selection and load-time refusals need, and they are read before any
 * transpiling, so a component jco could not transpile is still named precisely.
 */

/** A component's top-level import and export names, in binary order. */
export interface ComponentNames {
  imports: string[];
  exports: string[];
}

const IMPORT_SECTION = 10;
const EXPORT_SECTION = 11;

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  byte(): number {
    if (this.pos >= this.end) throw new RangeError('truncated component section');
    return this.bytes[this.pos++] as number;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new RangeError('LEB128 too long');
    }
  }

  /** A signed LEB128 (valtype is an s33); only its length matters here. */
  skipSigned(): void {
    for (let i = 0; i < 5; i++) if ((this.byte() & 0x80) === 0) return;
    throw new RangeError('LEB128 too long');
  }

  string(): string {
    const len = this.u32();
    if (this.pos + len > this.end) throw new RangeError('truncated name');
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, len).toString('utf8');
    this.pos += len;
    return text;
  }

  /** `importname'`/`exportname'`: `0x00 name`, or a newer form with one more string after the name. */
  externName(): string {
    const tag = this.byte();
    const name = this.string();
    if (tag !== 0x00) this.string();
    return name;
  }

  externDesc(): void {
    const sort = this.byte();
    switch (sort) {
      case 0x00: // core module: 0x11 typeidx
        this.byte();
        this.u32();
        return;
      case 0x01: // func
      case 0x04: // component
      case 0x05: // instance
        this.u32();
        return;
      case 0x02: // value bound: eq valueidx | valtype
        if (this.byte() === 0x00) this.u32();
        else this.skipSigned();
        return;
      case 0x03: // type bound: eq typeidx | sub resource
        if (this.byte() === 0x00) this.u32();
        return;
      default:
        throw new RangeError(`unknown extern sort 0x${sort.toString(16)}`);
    }
  }

  sortIdx(): void {
    if (this.byte() === 0x00) this.byte(); // core sort
    this.u32();
  }
}

/**
 * Reads the top-level import and export names of a component binary.
 * @throws RangeError when the binary is not a component or a section is malformed
 */
export function componentNames(bytes: Uint8Array): ComponentNames {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d || bytes[6] !== 1 || bytes[7] !== 0) {
    throw new RangeError('not a component binary');
  }
  const out: ComponentNames = { imports: [], exports: [] };
  const top = new Reader(bytes, 8, bytes.length);
  while (top.pos < bytes.length) {
    const id = top.byte();
    const size = top.u32();
    const end = top.pos + size;
    if (end > bytes.length) throw new RangeError('truncated component section');
    if (id === IMPORT_SECTION || id === EXPORT_SECTION) {
      const section = new Reader(bytes, top.pos, end);
      const count = section.u32();
      for (let i = 0; i < count; i++) {
        const name = section.externName();
        if (id === IMPORT_SECTION) {
          section.externDesc();
          out.imports.push(name);
        } else {
          section.sortIdx();
          if (section.byte() === 0x01) section.externDesc();
          out.exports.push(name);
        }
      }
    }
    top.pos = end;
  }
  return out;
}
