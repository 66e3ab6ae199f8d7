// Base45 (RFC 9285), the text encoding of the card's QR, decoded exactly as
// idsvc/cards/base45.py does: any character outside the alphabet, a length of
// 3n+1, a three-character group above 65535 or a final pair above 255 is refused.

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const DIGITS = new Map([...ALPHABET].map((character, index) => [character, index]));

export class Base45Error extends Error {}

// The characters Python's str.strip() removes (str.isspace()); JavaScript's trim()
// knows a different set, and a QR text must be cut the same way on both sides.
const PY_SPACE = new Set([..."\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"]
  .concat(Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i))));

export function pyStrip(text) {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE.has(text[start])) start += 1;
  while (end > start && PY_SPACE.has(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

export function b45decode(text) {
  if (typeof text !== "string") throw new Base45Error("Not Base45 text.");
  const digits = new Array(text.length);
  for (let i = 0; i < text.length; i += 1) {
    const digit = DIGITS.get(text[i]);
    if (digit === undefined) throw new Base45Error("Not Base45 text.");
    digits[i] = digit;
  }
  if (digits.length % 3 === 1) throw new Base45Error("Not Base45 text.");
  const out = new Uint8Array(Math.floor(digits.length / 3) * 2 + (digits.length % 3 === 2 ? 1 : 0));
  let o = 0;
  let i = 0;
  for (; i + 3 <= digits.length; i += 3) {
    const value = digits[i] + 45 * digits[i + 1] + 2025 * digits[i + 2];
    if (value > 0xffff) throw new Base45Error("Not Base45 text.");
    out[o++] = value >> 8;
    out[o++] = value & 0xff;
  }
  if (i < digits.length) {
    const value = digits[i] + 45 * digits[i + 1];
    if (value > 0xff) throw new Base45Error("Not Base45 text.");
    out[o] = value;
  }
  return out;
}
