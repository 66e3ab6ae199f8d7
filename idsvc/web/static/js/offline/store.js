// The partner device's copy of /offline-bundle.json (public keys and signed status
// lists: no personal data), kept in IndexedDB with the time it was fetched so the
// scanner can say how old its lists are. One record, replaced on every sync.

const DATABASE = "idsvc-offline";
const STORE = "bundle";
const KEY = "current";
const BUNDLE_URL = "/offline-bundle.json";

// The record read or written last in this page: loadBundle() hands back the same
// object each time, so verifyOffline() checks its lists once, not once per scan.
let current;

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

async function record() {
  if (current === undefined) {
    const stored = (await transact("readonly", (store) => store.get(KEY))) ?? null;
    if (current === undefined) current = stored; // a sync that finished meanwhile wins
  }
  return current;
}

/** Fetch the bundle, keep it with the fetch time, and return it; rejects when offline. */
export async function syncBundle() {
  const response = await fetch(BUNDLE_URL, { cache: "no-store", credentials: "omit" });
  if (!response.ok) throw new Error(`The offline bundle could not be fetched (${response.status}).`);
  const bundle = await response.json();
  const fresh = { bundle, fetchedAt: Date.now() };
  await transact("readwrite", (store) => store.put(fresh, KEY));
  current = fresh;
  return bundle;
}

/** The stored bundle, or null when this device never synced one. */
export async function loadBundle() {
  const stored = await record();
  return stored ? stored.bundle : null;
}

/** Hours since the stored bundle was fetched, or null when there is none. */
export async function bundleAgeHours() {
  const stored = await record();
  return stored ? (Date.now() - stored.fetchedAt) / 3_600_000 : null;
}
