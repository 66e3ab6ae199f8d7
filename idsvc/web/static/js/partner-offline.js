/* The scanner's offline side: register the partner service worker, keep the offline bundle
   (public keys and signed status lists) fresh while online, and check a scanned QR on
   this device when the service cannot be reached, telling the partner no more than its
   scope allows online. */

import { bundleAgeHours, loadBundle, syncBundle } from "/static/js/offline/store.js";
import { verifyOffline } from "/static/js/offline/verify.js";

// Offline, the card is shown for the same verdicts as online; `status_unknown` never
// shows it, so an unconfirmed card cannot look like an accepted one.
const SHOWS_CARD = new Set(["valid", "expired", "suspended"]);
const COPIED = ["card_number", "full_name", "first_name", "date_of_birth", "address", "photo",
  "issued_at", "expires_at"];

/** Register the service worker and sync the bundle; failures leave the page working online. */
export async function prepareOffline() {
  if ("serviceWorker" in navigator) {
    try {
      await navigator.serviceWorker.register("/partner/sw.js", { scope: "/partner/" });
    } catch {
      // no service worker (private window, old browser): the scanner still works online
    }
  }
  if (navigator.onLine !== false) {
    try {
      await syncBundle();
    } catch {
      // unreachable now: the stored bundle, if any, keeps serving offline checks
    }
  }
}

export async function offlineAgeHours() {
  try {
    return await bundleAgeHours();
  } catch {
    return null;
  }
}

/** The age group as idsvc/verification/disclosure.py computes it, on this device's date. */
function ageGroup(born, today) {
  const [year, month, day] = born.split("-").map(Number);
  let age = today.getFullYear() - year;
  if (today.getMonth() + 1 < month || (today.getMonth() + 1 === month && today.getDate() < day)) age -= 1;
  if (age < 18) return "minor";
  return age >= 65 ? "senior" : "adult";
}

/** Only the fields the partner's scope names, as /partner/verify would give them. */
function scoped(card, scope, today) {
  const shown = {};
  for (const name of COPIED) {
    if (scope.has(name) && card[name] !== null && card[name] !== undefined) shown[name] = card[name];
  }
  if (scope.has("city_resident")) shown.city_resident = true;
  if (scope.has("age_group") && card.date_of_birth) shown.age_group = ageGroup(card.date_of_birth, today);
  return shown;
}

/** {result, card, ageHours} for a QR text, checked on this device with the stored bundle. */
export async function checkOffline(qrText, { scope, maxAgeHours, now = new Date() }) {
  let bundle = null;
  try {
    bundle = await loadBundle();
  } catch {
    bundle = null;
  }
  const ageHours = bundle ? await offlineAgeHours() : null;
  if (!bundle) return { result: "status_unknown", card: null, ageHours };
  let outcome;
  try {
    outcome = await verifyOffline(qrText, bundle, { now, maxAgeHours });
  } catch {
    return { result: "status_unknown", card: null, ageHours };  // an unusable bundle
  }
  const card = outcome.card && SHOWS_CARD.has(outcome.result) ? scoped(outcome.card, scope, now) : null;
  return { result: outcome.result, card, ageHours };
}
