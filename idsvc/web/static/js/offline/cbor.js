// A small CBOR (RFC 8949) decoder for credentials: only what a Claim 169 QR needs,
// and strict where untrusted bytes could hurt. Indefinite lengths and nesting deeper
// than MAX_DEPTH are refused; a declared length longer than the input is refused
// before anything is allocated. Like cbor2.loads (the Python side), `decode` reads
// the first item and ignores bytes after it.
//
// Values: unsigned and negative integers are Numbers when they are safe integers and
// BigInts otherwise (tags 2 and 3, bignums, are BigInts too); byte strings are
// Uint8Array; text is a string (invalid UTF-8 is refused); arrays are Arrays; maps
// are Maps keyed by the decoded key (so 1 and "1" differ, as in Python); floats are
// CborFloat, so an integer claim can never be confused with 1.0; other tags are
// CborTag; false, true and null are themselves, undefined is `undefined`, and other
// simple values are CborSimple.

export const MAX_DEPTH = 32;

export class CborError extends Error {}

export class CborTag {
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}

export class CborFloat {
  constructor(value) {
    this.value = value;
  }
}

export class CborSimple {
  constructor(value) {
    this.value = value;
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function halfFloat(bits) {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = 0;
  }

  need(count) {
    if (count > this.bytes.length - this.offset) throw new CborError("Truncated CBOR.");
  }

  byte() {
    this.need(1);
    return this.bytes[this.offset++];
  }

  take(count) {
    this.need(count);
    const out = this.bytes.slice(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  // The argument of a head: a Number when it is a safe integer, else a BigInt.
  argument(info) {
    if (info < 24) return info;
    let value;
    if (info === 24) {
      value = this.byte();
    } else if (info === 25) {
      this.need(2);
      value = this.view.getUint16(this.offset);
      this.offset += 2;
    } else if (info === 26) {
      this.need(4);
      value = this.view.getUint32(this.offset);
      this.offset += 4;
    } else if (info === 27) {
      this.need(8);
      const big = this.view.getBigUint64(this.offset);
      this.offset += 8;
      value = big <= SAFE ? Number(big) : big;
    } else if (info === 31) {
      throw new CborError("Indefinite-length CBOR is not accepted.");
    } else {
      throw new CborError("Reserved CBOR additional information.");
    }
    return value;
  }

  // A length that must fit in what is left of the input (`unit` bytes per element at least).
  length(info, unit) {
    const value = this.argument(info);
    if (typeof value === "bigint" || value * unit > this.bytes.length - this.offset) {
      throw new CborError("CBOR length beyond the input.");
    }
    return value;
  }

  item(depth) {
    if (depth > MAX_DEPTH) throw new CborError("CBOR nested too deeply.");
    const head = this.byte();
    const major = head >> 5;
    const info = head & 0x1f;
    switch (major) {
      case 0:
        return this.argument(info);
      case 1: {
        const n = this.argument(info);
        return typeof n === "bigint" || n + 1 > Number.MAX_SAFE_INTEGER ? -1n - BigInt(n) : -1 - n;
      }
      case 2:
        return this.take(this.length(info, 1));
      case 3:
        try {
          return UTF8.decode(this.take(this.length(info, 1)));
        } catch (error) {
          if (error instanceof CborError) throw error;
          throw new CborError("CBOR text is not UTF-8.");
        }
      case 4: {
        const count = this.length(info, 1);
        const items = [];
        for (let i = 0; i < count; i += 1) items.push(this.item(depth + 1));
        return items;
      }
      case 5: {
        const count = this.length(info, 2);
        const map = new Map();
        for (let i = 0; i < count; i += 1) {
          const key = this.item(depth + 1);
          map.set(key, this.item(depth + 1));
        }
        return map;
      }
      case 6: {
        const tag = this.argument(info);
        const value = this.item(depth + 1);
        if (tag === 2 || tag === 3) {
          if (!(value instanceof Uint8Array)) throw new CborError("A bignum must be a byte string.");
          let n = 0n;
          for (const b of value) n = (n << 8n) | BigInt(b);
          if (tag === 3) n = -1n - n;
          return n >= -SAFE && n <= SAFE ? Number(n) : n;
        }
        return new CborTag(tag, value);
      }
      default:
        return this.simple(info);
    }
  }

  simple(info) {
    if (info < 20) return new CborSimple(info);
    switch (info) {
      case 20: return false;
      case 21: return true;
      case 22: return null;
      case 23: return undefined;
      case 24: {
        const value = this.byte();
        if (value < 32) throw new CborError("Badly encoded CBOR simple value.");
        return new CborSimple(value);
      }
      case 25: {
        this.need(2);
        const value = halfFloat(this.view.getUint16(this.offset));
        this.offset += 2;
        return new CborFloat(value);
      }
      case 26: {
        this.need(4);
        const value = this.view.getFloat32(this.offset);
        this.offset += 4;
        return new CborFloat(value);
      }
      case 27: {
        this.need(8);
        const value = this.view.getFloat64(this.offset);
        this.offset += 8;
        return new CborFloat(value);
      }
      case 31:
        throw new CborError("Unexpected CBOR break.");
      default:
        throw new CborError("Reserved CBOR simple value.");
    }
  }
}

/** The first CBOR item in `bytes` (a Uint8Array); CborError when it is not well formed. */
export function decode(bytes) {
  return new Reader(bytes).item(0);
}

/** True for a safe-integer Number or a BigInt: what Python's `isinstance(x, int)` (bool aside) accepts. */
export function isInteger(value) {
  return typeof value === "bigint" || Number.isSafeInteger(value);
}
