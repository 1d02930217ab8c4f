/**
 * A Spin 0.x/1.x module's linear memory as the old wit-bindgen (0.2) ABI uses it: strings and
 * lists are `(ptr, len)` pairs, records and variants are laid out as in the canonical ABI, and
 * the host allocates what it hands the guest with the module's `canonical_abi_realloc(old,
 * old_len, align, new_len)`; the guest then owns it. Every read is bounds-checked against the
 * memory's current size (a bad pointer from the guest is a trap, never a host read elsewhere).
 */

/** The module's allocator: `canonical_abi_realloc` (or wit-bindgen ≥0.5's `cabi_realloc`). */
export type Realloc = (old: number, oldLen: number, align: number, newLen: number) => number;

/** Thrown when the guest passes a pointer or length outside its memory, or bytes that are not UTF-8. */
export class GuestMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestMemoryError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Typed access to one instance's memory; re-reads the buffer on every call because the guest may grow it. */
export class GuestMemory {
  readonly #memory: WebAssembly.Memory;
  readonly #realloc: Realloc | undefined;

  constructor(memory: WebAssembly.Memory, realloc: Realloc | undefined) {
    this.#memory = memory;
    this.#realloc = realloc;
  }

  #check(ptr: number, len: number): void {
    if (!Number.isInteger(ptr) || !Number.isInteger(len) || ptr < 0 || len < 0 || ptr + len > this.#memory.buffer.byteLength) {
      throw new GuestMemoryError(`guest pointer ${ptr} with length ${len} is outside its memory`);
    }
  }

  #view(): DataView {
    return new DataView(this.#memory.buffer);
  }

  u8(ptr: number): number {
    this.#check(ptr, 1);
    return this.#view().getUint8(ptr);
  }
  u16(ptr: number): number {
    this.#check(ptr, 2);
    return this.#view().getUint16(ptr, true);
  }
  u32(ptr: number): number {
    this.#check(ptr, 4);
    return this.#view().getUint32(ptr, true);
  }
  i64(ptr: number): bigint {
    this.#check(ptr, 8);
    return this.#view().getBigInt64(ptr, true);
  }
  u64(ptr: number): bigint {
    this.#check(ptr, 8);
    return this.#view().getBigUint64(ptr, true);
  }
  f32(ptr: number): number {
    this.#check(ptr, 4);
    return this.#view().getFloat32(ptr, true);
  }
  f64(ptr: number): number {
    this.#check(ptr, 8);
    return this.#view().getFloat64(ptr, true);
  }

  setU8(ptr: number, value: number): void {
    this.#check(ptr, 1);
    this.#view().setUint8(ptr, value);
  }
  setU16(ptr: number, value: number): void {
    this.#check(ptr, 2);
    this.#view().setUint16(ptr, value, true);
  }
  setU32(ptr: number, value: number): void {
    this.#check(ptr, 4);
    this.#view().setUint32(ptr, value >>> 0, true);
  }
  setI64(ptr: number, value: bigint): void {
    this.#check(ptr, 8);
    this.#view().setBigInt64(ptr, value, true);
  }
  setU64(ptr: number, value: bigint): void {
    this.#check(ptr, 8);
    this.#view().setBigUint64(ptr, value, true);
  }
  setF32(ptr: number, value: number): void {
    this.#check(ptr, 4);
    this.#view().setFloat32(ptr, value, true);
  }
  setF64(ptr: number, value: number): void {
    this.#check(ptr, 8);
    this.#view().setFloat64(ptr, value, true);
  }

  /** A copy of `len` bytes at `ptr`. */
  bytes(ptr: number, len: number): Uint8Array {
    this.#check(ptr, len);
    return new Uint8Array(this.#memory.buffer.slice(ptr, ptr + len));
  }

  /** The bytes of the (pointer, length) pair stored at `at`. */
  bytesAt(at: number): Uint8Array {
    return this.bytes(this.u32(at), this.u32(at + 4));
  }

  /** The UTF-8 text of the (pointer, length) pair stored at `at`. */
  stringAt(at: number): string {
    return this.string(this.u32(at), this.u32(at + 4));
  }

  /** Stores a (pointer, length) pair at `at`, as a list or string field is laid out. */
  setSlice(at: number, [ptr, len]: readonly [number, number]): void {
    this.setU32(at, ptr);
    this.setU32(at + 4, len);
  }

  /** UTF-8 text at `ptr` (invalid UTF-8 is the guest's fault: a trap, as wit-bindgen's host does). */
  string(ptr: number, len: number): string {
    this.#check(ptr, len);
    try {
      return utf8.decode(new Uint8Array(this.#memory.buffer, ptr, len));
    } catch {
      throw new GuestMemoryError('guest passed a string that is not valid UTF-8');
    }
  }

  /** `len` elements of `size` bytes from `ptr`, each read by `read(elementPtr)`. */
  list<T>(ptr: number, len: number, size: number, read: (at: number) => T): T[] {
    this.#check(ptr, len * size);
    const out: T[] = [];
    for (let i = 0; i < len; i++) out.push(read(ptr + i * size));
    return out;
  }

  /** Copies `data` to `ptr` (memory the guest owns and passed to the host to fill). */
  write(ptr: number, data: Uint8Array): void {
    this.#check(ptr, data.length);
    new Uint8Array(this.#memory.buffer, ptr, data.length).set(data);
  }

  /** Allocates `size` bytes in the guest (owned by the guest from now on). */
  alloc(size: number, align: number): number {
    // A zero-length list needs no memory; wit-bindgen's guests free nothing of length 0.
    if (size === 0) return align;
    if (this.#realloc === undefined) throw new GuestMemoryError('the module exports no canonical_abi_realloc to receive data');
    const ptr = this.#realloc(0, 0, align, size);
    this.#check(ptr, size);
    return ptr;
  }

  /** Copies bytes into fresh guest memory. */
  putBytes(data: Uint8Array, align = 1): [ptr: number, len: number] {
    const ptr = this.alloc(data.length, align);
    if (data.length > 0) new Uint8Array(this.#memory.buffer, ptr, data.length).set(data);
    return [ptr, data.length];
  }

  /** Copies a string into fresh guest memory as UTF-8. */
  putString(text: string): [ptr: number, len: number] {
    return this.putBytes(encoder.encode(text));
  }

  /** Writes a list whose elements are `size` bytes with alignment `align`, each written by `write(elementPtr, item)`. */
  putList<T>(items: readonly T[], size: number, align: number, write: (at: number, item: T) => void): [ptr: number, len: number] {
    const ptr = this.alloc(items.length * size, align);
    items.forEach((item, i) => write(ptr + i * size, item));
    return [ptr, items.length];
  }
}
