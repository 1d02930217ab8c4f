import { randomBytes } from 'node:crypto';

// bcrypt ($2b$) for writing htpasswd files in tests without the apache2-utils package.
// Blowfish's initial P-array and S-boxes are the hexadecimal digits of pi's fraction, so they
// are computed here (Machin's formula on BigInt) instead of being pasted as tables.

const WORDS = 18 + 4 * 256;
let tables: { P: Uint32Array; S: Uint32Array } | undefined;

function piWords(count: number): Uint32Array {
  const bits = BigInt(count * 32 + 64);
  const one = 1n << bits;
  const atanInv = (x: bigint): bigint => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let k = 0n; term !== 0n; k++) {
      const t = term / (2n * k + 1n);
      sum = k % 2n === 0n ? sum + t : sum - t;
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  const fraction = pi - 3n * one;
  const words = new Uint32Array(count);
  const shifted = fraction >> 64n;
  for (let i = 0; i < count; i++) {
    words[i] = Number((shifted >> BigInt((count - 1 - i) * 32)) & 0xffffffffn);
  }
  return words;
}

function initialTables(): { P: Uint32Array; S: Uint32Array } {
  if (!tables) {
    const words = piWords(WORDS);
    tables = { P: words.slice(0, 18), S: words.slice(18) };
  }
  return tables;
}

class Eks {
  readonly P: Uint32Array;
  readonly S: Uint32Array;
  constructor() {
    const t = initialTables();
    this.P = t.P.slice();
    this.S = t.S.slice();
  }
  f(x: number): number {
    const S = this.S;
    return ((((S[x >>> 24] as number) + (S[256 + ((x >>> 16) & 255)] as number)) ^ (S[512 + ((x >>> 8) & 255)] as number)) + (S[768 + (x & 255)] as number)) >>> 0;
  }
  encipher(lr: Uint32Array, off: number): void {
    const P = this.P;
    let l = lr[off] as number;
    let r = lr[off + 1] as number;
    for (let i = 0; i < 16; i += 2) {
      l = (l ^ (P[i] as number)) >>> 0;
      r = (r ^ this.f(l)) >>> 0;
      r = (r ^ (P[i + 1] as number)) >>> 0;
      l = (l ^ this.f(r)) >>> 0;
    }
    lr[off] = (r ^ (P[17] as number)) >>> 0;
    lr[off + 1] = (l ^ (P[16] as number)) >>> 0;
  }
  expand(key: Uint8Array, salt: Uint8Array | undefined): void {
    let kpos = 0;
    const word = (data: Uint8Array, pos: { p: number }): number => {
      let w = 0;
      for (let i = 0; i < 4; i++) {
        w = ((w << 8) | (data[pos.p] as number)) >>> 0;
        pos.p = (pos.p + 1) % data.length;
      }
      return w;
    };
    const kp = { p: kpos };
    for (let i = 0; i < 18; i++) this.P[i] = ((this.P[i] as number) ^ word(key, kp)) >>> 0;
    kpos = kp.p;
    const sp = { p: 0 };
    const lr = new Uint32Array(2);
    const next = (target: Uint32Array, i: number): void => {
      if (salt) {
        lr[0] = ((lr[0] as number) ^ word(salt, sp)) >>> 0;
        lr[1] = ((lr[1] as number) ^ word(salt, sp)) >>> 0;
      }
      this.encipher(lr, 0);
      target[i] = lr[0] as number;
      target[i + 1] = lr[1] as number;
    };
    for (let i = 0; i < 18; i += 2) next(this.P, i);
    for (let i = 0; i < 1024; i += 2) next(this.S, i);
  }
}

const ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function encode64(bytes: Uint8Array, length: number): string {
  let out = '';
  let i = 0;
  while (i < length) {
    const c1 = bytes[i++] as number;
    out += ALPHABET[c1 >> 2];
    let c = (c1 & 0x03) << 4;
    if (i >= length) {
      out += ALPHABET[c];
      break;
    }
    const c2 = bytes[i++] as number;
    out += ALPHABET[c | (c2 >> 4)];
    c = (c2 & 0x0f) << 2;
    if (i >= length) {
      out += ALPHABET[c];
      break;
    }
    const c3 = bytes[i++] as number;
    out += ALPHABET[c | (c3 >> 6)];
    out += ALPHABET[c3 & 0x3f];
  }
  return out;
}

function decode64(text: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const v = (ch: string | undefined): number => ALPHABET.indexOf(ch ?? '.');
  let o = 0;
  let i = 0;
  while (o < length && i < text.length) {
    const c1 = v(text[i++]);
    const c2 = v(text[i++]);
    out[o++] = (c1 << 2) | ((c2 & 0x30) >> 4);
    if (o >= length || i >= text.length) break;
    const c3 = v(text[i++]);
    out[o++] = ((c2 & 0x0f) << 4) | ((c3 & 0x3c) >> 2);
    if (o >= length || i >= text.length) break;
    const c4 = v(text[i++]);
    out[o++] = ((c3 & 0x03) << 6) | c4;
  }
  return out;
}

/**
 * Hash a password with bcrypt (`$2b$`), as htpasswd files for the registry need.
 * `salt22` (22 bcrypt-base64 characters) is for reproducible tests; random by default.
 */
export function bcryptHash(password: string, cost = 5, salt22?: string): string {
  const salt = salt22 === undefined ? randomBytes(16) : decode64(salt22, 16);
  const key = Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]).subarray(0, 72);
  const state = new Eks();
  state.expand(key, salt);
  const rounds = 2 ** cost;
  for (let i = 0; i < rounds; i++) {
    state.expand(key, undefined);
    state.expand(salt, undefined);
  }
  const magic = Buffer.from('OrpheanBeholderScryDoubt', 'latin1');
  const ctext = new Uint32Array(6);
  for (let i = 0; i < 6; i++) ctext[i] = magic.readUInt32BE(i * 4);
  for (let i = 0; i < 64; i++) for (let j = 0; j < 6; j += 2) state.encipher(ctext, j);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(ctext[i] as number, i * 4);
  return `$2b$${String(cost).padStart(2, '0')}$${encode64(salt, 16)}${encode64(out, 23)}`;
}
