// Offline verification in the browser: the rules of idsvc/verification/checker.py,
// with the JWKS and signed status lists of /offline-bundle.json instead of a server.
// Same checks in the same order, same `result` and `reason` strings; the one offline
// verdict is `status_unknown` (no fresh list for the card), never `valid`.

import { b45decode, pyStrip } from "./base45.js";
import { CborTag, decode as cborDecode, isInteger } from "./cbor.js";
import {
  b64urlDecode, es256Verify, inflate, parseStatusListToken, statusAt,
} from "./statuslist.js";

export const BUNDLE_FORMAT = "idsvc-offline-bundle/1";
export const CLOCK_SKEW_SECONDS = 300;
export const MAX_DECOMPRESSED = 16 * 1024; // as idsvc/cards/credential.py

const CLAIM_ISS = 1;
const CLAIM_SUB = 2;
const CLAIM_EXP = 4;
const CLAIM_NBF = 5;
const CLAIM_IAT = 6;
const CLAIM_169 = 169;
const CLAIM_STATUS = 65535;
const F_ID = 1;
const F_FULL_NAME = 4;
const F_FIRST_NAME = 5;
const F_LAST_NAME = 7;
const F_DATE_OF_BIRTH = 8;
const F_GENDER = 9;
const F_ADDRESS = 10;
const F_PHOTO = 16;
const F_PHOTO_FORMAT = 17;
const GENDERS = new Map([[1, "M"], [2, "F"], [3, "X"]]);
const PHOTO_TYPES = new Map([[4, "image/webp"], [1, "image/jpeg"]]);
const COSE_SIGN1_TAG = 18;
const HEADER_ALG = 1;
const HEADER_KID = 4;
const ALG_ES256 = -7;
const SHOWS_CARD = new Set(["valid", "expired", "suspended", "status_unknown"]);
const BY_STATUS = new Map([[1, "revoked"], [2, "suspended"]]);
// Python's bytes.decode("utf-8", "replace"): invalid bytes become U+FFFD, a BOM is kept.
const KID_TEXT = new TextDecoder("utf-8", { ignoreBOM: true });

/** The bundle itself cannot be used (not a bundle, no usable key): no card can be checked. */
export class TrustError extends Error {}

class Malformed extends Error {}

const isMap = (value) => value instanceof Map;
const isBytes = (value) => value instanceof Uint8Array;

// ---- trust: keys and status lists, worked out once per bundle object ----

async function thumbprint(jwk) {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function importKey(entry) {
  if (entry.kty !== "EC" || entry.crv !== "P-256") return null;
  const x = b64urlDecode(entry.x);
  const y = b64urlDecode(entry.y);
  if (!x || !y || x.length !== 32 || y.length !== 32) return null;
  try {
    return await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: entry.x, y: entry.y, ext: true },
      { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  } catch {
    return null; // not a point on the curve
  }
}

/** The usable ES256 keys of a JWKS: Map of kid to {key, state}, as keys_from_jwks. */
async function keysFromJwks(jwks) {
  const entries = jwks && jwks.keys;
  if (!Array.isArray(entries)) throw new TrustError("The JWKS has no keys list.");
  const keys = new Map();
  for (const entry of entries) {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) continue;
    if (("alg" in entry ? entry.alg : "ES256") !== "ES256") continue;
    const key = await importKey(entry);
    if (key === null) continue;
    const kid = entry.kid ? String(entry.kid) : await thumbprint(entry);
    keys.set(kid, { key, state: "state" in entry ? String(entry.state) : "active" });
  }
  if (keys.size === 0) throw new TrustError("The JWKS holds no usable ES256 key.");
  return keys;
}

/** Verified status lists by URI; a list that does not verify (or names an unknown or
 * compromised key) is left out, so its cards get `status_unknown`. */
async function listsFromBundle(tokens, keys) {
  const trusted = new Map();
  for (const [kid, { key, state }] of keys) if (state !== "compromised") trusted.set(kid, key);
  const lists = new Map();
  for (const text of Object.values(tokens || {})) {
    if (typeof text !== "string") continue;
    try {
      const list = await parseStatusListToken(pyStrip(text), trusted);
      lists.set(list.uri, list);
    } catch {
      // unverifiable: as if absent
    }
  }
  return lists;
}

async function trustFromBundle(bundle) {
  if (bundle === null || typeof bundle !== "object" || bundle.format !== BUNDLE_FORMAT) {
    throw new TrustError(`Not an offline bundle (expected format ${BUNDLE_FORMAT}).`);
  }
  const keys = await keysFromJwks(bundle.jwks || {});
  const lists = await listsFromBundle(bundle.status_lists, keys);
  return { issuer: String(bundle.issuer), keys, lists };
}

const trusts = new WeakMap();

function trustOf(bundle) {
  if (bundle === null || typeof bundle !== "object") {
    return Promise.reject(new TrustError("Not an offline bundle."));
  }
  let trust = trusts.get(bundle);
  if (!trust) {
    trust = trustFromBundle(bundle);
    trusts.set(bundle, trust);
    trust.catch(() => trusts.delete(bundle));
  }
  return trust;
}

// ---- the credential: base45(zlib(COSE_Sign1(CWT))) ----

function cbor(bytes, what) {
  try {
    return cborDecode(bytes);
  } catch {
    throw new Malformed(`${what} is not CBOR.`);
  }
}

function protectedHeader(bytes) {
  const headers = bytes.length ? cbor(bytes, "The protected header") : new Map();
  if (!isMap(headers)) throw new Malformed("The protected header must be a map.");
  const algorithm = headers.get(HEADER_ALG);
  const kid = headers.get(HEADER_KID);
  return { algorithm: isInteger(algorithm) ? algorithm : null, kid: isBytes(kid) ? kid : null };
}

function bstrHead(length) {
  if (length < 24) return [0x40 | length];
  for (const [marker, size] of [[0x58, 1], [0x59, 2], [0x5a, 4]]) {
    if (length < 2 ** (8 * size)) {
      const head = [marker];
      for (let i = size - 1; i >= 0; i -= 1) head.push(Math.floor(length / 2 ** (8 * i)) & 0xff);
      return head;
    }
  }
  throw new Malformed("Too large.");
}

const SIGNATURE1_HEAD = [0x84, 0x6a, ...new TextEncoder().encode("Signature1")];

/** ["Signature1", protected, h'', payload] encoded exactly as idsvc/crypto/cose.py does. */
function sigStructure(protectedBytes, payload) {
  const parts = [SIGNATURE1_HEAD, bstrHead(protectedBytes.length), protectedBytes, [0x40],
    bstrHead(payload.length), payload];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function parseSign1(bytes) {
  let message = cbor(bytes, "The credential");
  if (message instanceof CborTag) {
    if (message.tag !== COSE_SIGN1_TAG) throw new Malformed("Not a COSE_Sign1 message.");
    message = message.value;
  }
  if (!Array.isArray(message) || message.length !== 4) {
    throw new Malformed("COSE_Sign1 must be an array of four items.");
  }
  const [protectedBytes, unprotected, payload, signature] = message;
  if (!isBytes(protectedBytes) || !isBytes(payload) || !isBytes(signature) || !isMap(unprotected)) {
    throw new Malformed("COSE_Sign1 items have the wrong types.");
  }
  let { algorithm, kid } = protectedHeader(protectedBytes);
  if (kid === null) {
    const unprotectedKid = unprotected.get(HEADER_KID);
    kid = isBytes(unprotectedKid) ? unprotectedKid : null;
  }
  return { protectedBytes, algorithm, kid, payload, signature };
}

/** Unwrap the QR text without trusting it, as credential.decode: Malformed when it is not one. */
async function decodeCredential(text) {
  let compressed;
  try {
    compressed = b45decode(pyStrip(String(text)));
  } catch {
    throw new Malformed("Not a Base45 credential.");
  }
  let signed;
  try {
    signed = await inflate(compressed, MAX_DECOMPRESSED);
  } catch {
    throw new Malformed("Not a zlib credential within the size limit.");
  }
  const message = parseSign1(signed);
  const claims = cbor(message.payload, "The payload");
  if (!isMap(claims) || !isMap(claims.get(CLAIM_169))) throw new Malformed("No Claim 169.");
  return { message, claims, claim169: claims.get(CLAIM_169) };
}

// ---- the card fields, named as idsvc/verification/disclosure.py names them ----

function text(value) {
  return typeof value === "string" ? value : null;
}

function instant(value) {
  if (!isInteger(value)) return null;
  const date = new Date(Number(value) * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function birthDate(value) {
  if (typeof value !== "string") return null;
  const digits = value.replace(/-/g, "");
  const match = /^(\d{4})(\d{2})(\d{2})/.exec(digits);
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  if (year < 1 || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1
      || date.getUTCDate() !== day) return null;
  return `${match[1]}-${match[2]}-${match[3]}`;
}

function photo(claim) {
  const data = claim.get(F_PHOTO);
  if (!isBytes(data)) return null;
  const media = PHOTO_TYPES.get(claim.get(F_PHOTO_FORMAT)) ?? "application/octet-stream";
  let binary = "";
  for (let i = 0; i < data.length; i += 0x8000) {
    binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
  }
  return `data:${media};base64,${btoa(binary)}`;
}

function cardOf(decoded) {
  const { claims, claim169: claim } = decoded;
  return {
    card_number: text(claim.get(F_ID)),
    full_name: text(claim.get(F_FULL_NAME)),
    first_name: text(claim.get(F_FIRST_NAME)),
    last_name: text(claim.get(F_LAST_NAME)),
    date_of_birth: birthDate(claim.get(F_DATE_OF_BIRTH)),
    gender: GENDERS.get(claim.get(F_GENDER)) ?? null,
    address: text(claim.get(F_ADDRESS)),
    photo: photo(claim),
    issued_at: instant(claims.get(CLAIM_IAT)),
    expires_at: instant(claims.get(CLAIM_EXP)),
  };
}

// ---- the rules ----

function statusReference(claims) {
  const status = claims.get(CLAIM_STATUS);
  if (!isMap(status)) return null;
  const entry = status.get("status_list");
  if (!isMap(entry)) return null;
  const uri = entry.get("uri");
  const idx = entry.get("idx");
  if (typeof uri !== "string" || !isInteger(idx)) return null;
  return { uri, idx };
}

function timestamp(claims, key) {
  const value = claims.get(key);
  return isInteger(value) ? value : null;
}

function statusOf(trust, reference, nowSeconds, maxAgeSeconds) {
  const list = trust.lists.get(reference.uri);
  if (!list || nowSeconds - list.issuedAt > maxAgeSeconds) return null;
  if (list.expiresAt !== null && list.expiresAt <= nowSeconds) return null;
  return statusAt(list, reference.idx);
}

function verdict(result, reason, decoded = null) {
  return { result, reason, card: decoded && SHOWS_CARD.has(result) ? cardOf(decoded) : null };
}

async function check(qrText, trust, nowSeconds, maxAgeSeconds) {
  let decoded;
  try {
    decoded = await decodeCredential(qrText);
  } catch (error) {
    if (error instanceof Malformed) return verdict("invalid", "malformed");
    throw error;
  }
  const { message, claims, claim169 } = decoded;
  const kid = message.kid && message.kid.length ? KID_TEXT.decode(message.kid) : null;
  const key = kid === null ? undefined : trust.keys.get(kid);
  if (!key) return verdict("invalid", "unknown_key");
  if (key.state === "compromised") return verdict("invalid", "key_compromised");
  const good = message.algorithm === ALG_ES256 && await es256Verify(
    key.key, message.signature, sigStructure(message.protectedBytes, message.payload));
  if (!good) return verdict("invalid", "bad_signature");
  if (claims.get(CLAIM_ISS) !== trust.issuer) return verdict("invalid", "wrong_issuer");
  if (!sameValue(claims.get(CLAIM_SUB), claim169.get(F_ID))) {
    return verdict("invalid", "subject_mismatch");
  }
  const moment = Math.floor(nowSeconds);
  const notBefore = timestamp(claims, CLAIM_NBF);
  if (notBefore !== null && notBefore > moment + CLOCK_SKEW_SECONDS) {
    return verdict("invalid", "not_yet_valid");
  }
  const reference = statusReference(claims);
  if (reference === null) return verdict("invalid", "no_status_reference");
  const status = statusOf(trust, reference, nowSeconds, maxAgeSeconds);
  if (status === null) return verdict("status_unknown", "no_status_list", decoded);
  if (BY_STATUS.has(status)) return verdict(BY_STATUS.get(status), "status_list", decoded);
  if (status !== 0) return verdict("invalid", "unknown_status", decoded);
  const expires = timestamp(claims, CLAIM_EXP);
  if (expires !== null && expires <= moment) return verdict("expired", "expired", decoded);
  return verdict("valid", "ok", decoded);
}

/** Python's `==` for the CBOR values a sub or card number can be: scalars by value
 * (1 == 1n), byte strings by content; anything else only when identical. */
function sameValue(a, b) {
  if (isInteger(a) && isInteger(b)) return BigInt(a) === BigInt(b);
  if (isBytes(a) && isBytes(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

/**
 * Check a card's QR text against a bundle (the parsed /offline-bundle.json) with no
 * network: {result, reason, card}. `result` is valid, expired, revoked, suspended,
 * invalid or status_unknown; `card` is set for valid, expired, suspended and
 * status_unknown (a good signature), else null. Never throws for a card's text; a
 * bundle that cannot be used at all rejects with TrustError.
 */
export async function verifyOffline(qrText, bundle, { now = new Date(), maxAgeHours = 48 } = {}) {
  const trust = await trustOf(bundle);
  const nowSeconds = now.getTime() / 1000;
  try {
    return await check(qrText, trust, nowSeconds, maxAgeHours * 3600);
  } catch {
    return verdict("invalid", "malformed");
  }
}
