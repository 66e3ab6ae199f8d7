// The IETF Token Status List in its signed JWT form, checked as idsvc/status/token.py
// checks it: a compact JWS (ES256) whose payload carries `status_list: {bits, lst}`,
// `lst` being base64url of the zlib-compressed packed list. The signature is checked
// before the payload is parsed, so an unsigned list is never even inflated.
// Also home of the two primitives the credential decoder shares: zlib inflate and ES256.

export const TYP = "statuslist+jwt";
export const ALLOWED_BITS = [1, 2, 4, 8];
export const MAX_LIST_BYTES = 16 * 1024 * 1024;

export class StatusListError extends Error {}
export class InflateError extends Error {}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url without padding (the JOSE form); null when it is not that. */
export function b64urlDecode(text) {
  if (typeof text !== "string" || !B64URL.test(text) || text.length % 4 === 1) return null;
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  let binary;
  try {
    binary = atob(base64);
  } catch {
    return null;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Inflate zlib-format (RFC 1950) bytes with the browser's own DecompressionStream,
 * refusing output beyond `maxBytes` while it streams (a few kilobytes of DEFLATE can
 * expand to gigabytes). A truncated stream, a bad checksum or trailing bytes are
 * errors too: InflateError in every case.
 */
export async function inflate(bytes, maxBytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        reader.cancel().catch(() => {});
        throw new InflateError("Inflates beyond the limit.");
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof InflateError) throw error;
    throw new InflateError("Not valid zlib data.");
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** ES256 over `data` with a raw r||s signature, as COSE and JOSE carry it. */
export async function es256Verify(publicKey, signature, data) {
  if (signature.length !== 64) return false;
  try {
    return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, publicKey, signature, data);
  } catch {
    return false;
  }
}

function jsonPart(part, what) {
  const bytes = b64urlDecode(part);
  if (bytes === null) throw new StatusListError(`Status list token ${what} is not base64url.`);
  let value;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new StatusListError(`Status list token ${what} is not base64url JSON.`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new StatusListError(`Status list token ${what} is not a JSON object.`);
  }
  return value;
}

function intClaim(claims, name) {
  const value = claims[name];
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StatusListError(`Status list token claim ${name} must be a non-negative integer.`);
  }
  return value;
}

/**
 * Verify a `statuslist+jwt` with `keys` (a Map of kid to an ECDSA P-256 CryptoKey) and
 * decode its list: {uri, issuedAt, expiresAt, ttl, bits, packed, kid}. Freshness is the
 * caller's decision. StatusListError for anything that cannot be trusted.
 */
export async function parseStatusListToken(token, keys) {
  if (typeof token !== "string") throw new StatusListError("Status list token must be text.");
  const parts = token.split(".");
  if (parts.length !== 3) throw new StatusListError("Status list token is not a compact JWS.");
  const [headerPart, payloadPart, signaturePart] = parts;
  const header = jsonPart(headerPart, "header");
  if (header.typ !== TYP) throw new StatusListError(`Status list token typ must be ${TYP}.`);
  if (header.alg !== "ES256") throw new StatusListError("Status list token alg must be ES256.");
  if ("crit" in header) throw new StatusListError("Status list token has critical header extensions.");
  const kid = header.kid;
  if (typeof kid !== "string" || !keys.has(kid)) {
    throw new StatusListError("Status list token is signed by an unknown key.");
  }
  const signature = b64urlDecode(signaturePart);
  if (signature === null) throw new StatusListError("Status list token signature is not base64url.");
  const signingInput = new TextEncoder().encode(`${headerPart}.${payloadPart}`);
  if (!(await es256Verify(keys.get(kid), signature, signingInput))) {
    throw new StatusListError("Status list token signature does not verify.");
  }
  const claims = jsonPart(payloadPart, "payload");
  const uri = claims.sub;
  if (typeof uri !== "string" || !uri) throw new StatusListError("Status list token has no sub.");
  const list = claims.status_list;
  if (list === null || typeof list !== "object" || Array.isArray(list)) {
    throw new StatusListError("Status list token has no status_list object.");
  }
  const bits = list.bits;
  if (!ALLOWED_BITS.includes(bits)) throw new StatusListError("Status list bits must be 1, 2, 4 or 8.");
  const issuedAt = intClaim(claims, "iat");
  if (issuedAt === null) throw new StatusListError("Status list token has no iat.");
  const expiresAt = intClaim(claims, "exp");
  const ttl = intClaim(claims, "ttl");
  const compressed = b64urlDecode(list.lst);
  if (compressed === null) throw new StatusListError("Status list lst is not base64url text.");
  let packed;
  try {
    packed = await inflate(compressed, MAX_LIST_BYTES);
  } catch {
    throw new StatusListError("Status list is not valid zlib data within the size limit.");
  }
  return { uri, issuedAt, expiresAt, ttl, bits, packed, kid };
}

/**
 * The status of entry `idx` (a Number or BigInt), packed `bits` bits per entry, least
 * significant bits first within each byte; null when the list has no such entry.
 */
export function statusAt(list, idx) {
  if (typeof idx !== "number" && typeof idx !== "bigint") return null;
  if (idx < 0) return null;
  const offset = BigInt(idx) * BigInt(list.bits);
  const byteNo = offset / 8n;
  if (byteNo >= BigInt(list.packed.length)) return null;
  return (list.packed[Number(byteNo)] >> Number(offset % 8n)) & ((1 << list.bits) - 1);
}
