/* The partner desk scanner (/partner/): read a card's QR code from the camera or from a
   photo (jsQR, in the browser), or take a typed card number; check it with
   POST /partner/verify and show the verdict, the fields the partner may see and the
   partner's offers to redeem. When the service cannot be reached, a scanned QR is checked
   on the device (partner-offline.js) and redeeming is disabled. */

import { checkOffline, offlineAgeHours, prepareOffline } from "/static/js/partner-offline.js";

const root = document.getElementById("scanner");
const scope = new Set((root.dataset.scope || "").split(" ").filter(Boolean));
const maxAgeHours = Number(root.dataset.maxAgeHours);
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const lang = document.documentElement.lang || undefined;
const texts = new Map(
  [...document.querySelectorAll("#scanner-texts [data-key]")].map((el) => [el.dataset.key, el.textContent]));

const video = document.getElementById("camera-video");
const startButton = document.getElementById("camera-start");
const stopButton = document.getElementById("camera-stop");
const cameraMessage = document.getElementById("camera-message");
const imageInput = document.getElementById("card-image");
const uploadMessage = document.getElementById("upload-message");
const numberForm = document.getElementById("number-form");
const numberInput = document.getElementById("card-number");
const verdictBox = document.getElementById("verdict");
const detailsBox = document.getElementById("card-details");
const offersBox = document.getElementById("offers");
const resultSection = document.getElementById("result");
const offlineBanner = document.getElementById("offline-banner");

/** A translated text, with `{name}` replaced by each value. */
function t(key, values = {}) {
  let text = texts.get(key) ?? key;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{${name}}`, value);
  return text;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const dayFormat = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" });
const instantDayFormat = new Intl.DateTimeFormat(lang, { dateStyle: "long" });
const momentFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });

/** "1988-04-17" as a calendar date (never shifted by the device's time zone). */
const formatDay = (text) => dayFormat.format(new Date(`${text}T00:00:00Z`));
const formatInstantDay = (text) => instantDayFormat.format(new Date(text));
const formatMoment = (value) => momentFormat.format(value instanceof Date ? value : new Date(value));

// ---- The verdict ------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
// One shape per verdict, so it never rests on colour alone.
const ICONS = {
  valid: "M9 16.5l-4.5-4.5-1.5 1.5 6 6 12-12-1.5-1.5z",
  expired: "M12 2a10 10 0 100 20 10 10 0 000-20zm1 11h-5v-2h3V6h2z",
  revoked: "M5 3.5L3.5 5l7 7-7 7L5 20.5l7-7 7 7 1.5-1.5-7-7 7-7L19 3.5l-7 7z",
  suspended: "M6 4h4v16H6zm8 0h4v16h-4z",
  not_found: "M11 18h2v-2h-2zm1-16a6 6 0 00-6 6h2a4 4 0 118 0c0 3-4 3-4 7h2c0-3 4-3.5 4-7a6 6 0 00-6-6z",
  invalid: "M1 21h22L12 2zm12-3h-2v-2h2zm0-4h-2v-4h2z",
  status_unknown: "M11 18h2v-2h-2zm1-16a6 6 0 00-6 6h2a4 4 0 118 0c0 3-4 3-4 7h2c0-3 4-3.5 4-7a6 6 0 00-6-6z",
};
const LOOKS = {
  valid: "verdict verdict-valid", expired: "verdict verdict-warn verdict-expired",
  revoked: "verdict verdict-bad verdict-revoked", suspended: "verdict verdict-warn verdict-suspended",
  not_found: "verdict verdict-none", invalid: "verdict verdict-bad verdict-invalid",
  status_unknown: "verdict verdict-unknown",
};

function icon(result) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "verdict-icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[result] || ICONS.invalid);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

const FIELD_ORDER = ["full_name", "first_name", "date_of_birth", "age_group", "address",
  "card_number", "city_resident", "issued_at", "expires_at"];

function fieldValue(name, value) {
  if (name === "date_of_birth") return formatDay(value);
  if (name === "issued_at" || name === "expires_at") return formatInstantDay(value);
  if (name === "age_group") return t(`age.${value}`);
  if (name === "city_resident") return value ? t("yes") : "";
  return String(value);
}

function showDetails(card) {
  detailsBox.replaceChildren();
  if (!card) return;
  const list = el("dl", { class: "card-fields" });
  for (const name of FIELD_ORDER) {
    if (card[name] === undefined || card[name] === null) continue;
    list.append(el("div", {}, el("dt", {}, t(`field.${name}`)), el("dd", {}, fieldValue(name, card[name]))));
  }
  const parts = [el("h3", {}, t("details"))];
  if (card.photo) {
    parts.push(el("img", { class: "card-photo", src: card.photo, alt: t("field.photo") }));
  }
  parts.push(list);
  detailsBox.append(el("div", { class: "card-details" }, ...parts));
}

function showVerdict(answer, { offline = false } = {}) {
  const result = answer.result in LOOKS ? answer.result : "invalid";
  const checked = t(offline ? "checked_offline" : "checked", { time: formatMoment(answer.checked_at || new Date()) });
  verdictBox.replaceChildren(el("div", { class: LOOKS[result], "data-result": result },
    icon(result),
    el("p", { class: "verdict-word" }, t(`verdict.${result}`)),
    el("p", { class: "verdict-explain" }, t(`explain.${result}`)),
    el("p", { class: "verdict-time" }, checked)));
  showDetails(answer.card);
}

function showProblem(message) {
  verdictBox.replaceChildren(el("p", { class: "notice notice-error" }, message));
  detailsBox.replaceChildren();
  offersBox.replaceChildren();
}

// ---- Offers and redemptions -------------------------------------------------------------

/** What a refused redemption means, from the API's error body. */
function refusal(status, body) {
  if (body.error === "already_redeemed") {
    const when = formatInstantDay(body.redeemed_at);
    return body.available_again
      ? t("already", { when, again: formatDay(body.available_again) }) : t("already.lifetime", { when });
  }
  if (body.error === "not_eligible") return t(`reason.${body.reason}`);
  if (body.error === "benefit_not_yours") return t("error.not_yours");
  if ((body.error || "").startsWith("card_")) return t("error.card");
  return problemText(status, body);
}

function problemText(status, body) {
  if (status === 401) return t("error.session");
  if (status === 429) return t("error.rate");
  if (status === 403 && (!body || !body.error)) return t("error.expired_page");
  return t("error.other", { code: (body && body.error) || status });
}

async function redeem(offer, presented, button, status, idempotencyKey) {
  button.disabled = true;
  button.textContent = t("redeeming");
  let response;
  try {
    response = await fetch("/partner/redemptions", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken,
        "Idempotency-Key": idempotencyKey },
      body: JSON.stringify({ ...presented, benefit_id: offer.id }),
    });
  } catch {
    button.disabled = false;  // the same key again: a retry cannot redeem twice
    button.textContent = t("redeem", { offer: offer.name });
    status.className = "offer-status notice notice-error";
    status.textContent = t("error.network");
    return;
  }
  const body = await readJson(response);
  if (response.status === 201) {
    button.remove();
    status.className = "offer-status notice notice-ok";
    status.textContent = t("redeemed", { offer: offer.name, time: formatMoment(body.redeemed_at) });
    return;
  }
  button.textContent = t("redeem", { offer: offer.name });
  status.className = "offer-status notice notice-error";
  status.textContent = refusal(response.status, body);
}

function showOffers(answer, presented, { offline = false } = {}) {
  offersBox.replaceChildren();
  if (root.dataset.offers !== "yes" || !answer.card) return;
  const heading = el("h3", {}, t("offers"));
  if (offline) {
    offersBox.append(heading, el("p", { class: "notice notice-warn" }, t("offers.offline")));
    return;
  }
  const offers = answer.card.benefits || [];
  if (offers.length === 0) {
    offersBox.append(heading, el("p", {}, t("offers.none")));
    return;
  }
  const list = el("ul", { class: "offers" });
  for (const offer of offers) {
    const button = el("button", { type: "button", class: "primary" }, t("redeem", { offer: offer.name }));
    const status = el("p", { class: "offer-status", role: "status" });
    const key = crypto.randomUUID();  // one per offer and check: a double click redeems once
    button.addEventListener("click", () => redeem(offer, presented, button, status, key));
    list.append(el("li", {}, button, status));
  }
  offersBox.append(heading, list);
}

// ---- Checking ---------------------------------------------------------------------------

async function readJson(response) {
  const type = response.headers.get("content-type") || "";
  return type.includes("application/json") ? response.json() : {};
}

const ageFormat = new Intl.RelativeTimeFormat(lang, { numeric: "always" });

/** "Offline … fetched 3 hours ago" (minutes under two hours, then hours, then days). */
function bannerText(hours) {
  const minutes = Math.max(1, Math.round(hours * 60));
  const age = minutes < 120 ? ageFormat.format(-minutes, "minute")
    : hours < 48 ? ageFormat.format(-Math.round(hours), "hour") : ageFormat.format(-Math.round(hours / 24), "day");
  return t("offline.banner", { age });
}

function setOfflineBanner(message) {
  offlineBanner.hidden = !message;
  offlineBanner.textContent = message || "";
}

let checking = false;

async function check(presented) {
  if (checking) return;
  checking = true;
  try {
    let response = null;
    if (navigator.onLine !== false) {
      try {
        response = await fetch("/partner/verify", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
          body: JSON.stringify(presented),
        });
      } catch {
        response = null;  // the service cannot be reached: check on this device
      }
    }
    if (response === null || response.status >= 500) {  // down, or a gateway says so
      await checkHere(presented);
    } else if (response.ok) {
      setOfflineBanner("");
      const answer = await response.json();
      showVerdict(answer);
      showOffers(answer, presented);
    } else {
      showProblem(problemText(response.status, await readJson(response)));
    }
  } finally {
    checking = false;
    resultSection.scrollIntoView({ block: "nearest" });
  }
}

async function checkHere(presented) {
  if (!presented.qr) {
    showProblem(t("error.offline_number"));
    return;
  }
  const outcome = await checkOffline(presented.qr, { scope, maxAgeHours });
  setOfflineBanner(outcome.ageHours === null ? t("offline.nobundle") : bannerText(outcome.ageHours));
  const answer = { result: outcome.result, checked_at: new Date(), card: outcome.card };
  showVerdict(answer, { offline: true });
  showOffers(answer, presented, { offline: true });
}

// ---- Reading a QR code ------------------------------------------------------------------

const canvas = document.createElement("canvas");
const context = canvas.getContext("2d", { willReadFrequently: true });

/** The QR text in an image or video frame drawn at most `maxSide` pixels wide, or null. */
function decode(source, width, height, maxSide) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const code = window.jsQR(pixels.data, canvas.width, canvas.height, { inversionAttempts: "attemptBoth" });
  return code && code.data ? code.data : null;
}

let stream = null;
let timer = null;
let lastRead = { text: null, at: 0 };
const SCAN_EVERY_MS = 200;
const SAME_CARD_PAUSE_MS = 4000;

function scanFrame() {
  if (!stream) return;
  if (video.readyState >= video.HAVE_CURRENT_DATA && !checking) {
    const text = decode(video, video.videoWidth, video.videoHeight, 960);
    const now = Date.now();
    if (text && (text !== lastRead.text || now - lastRead.at > SAME_CARD_PAUSE_MS)) {
      lastRead = { text, at: now };
      check({ qr: text });
    }
  }
  timer = setTimeout(scanFrame, SCAN_EVERY_MS);
}

async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    cameraMessage.textContent = t("camera.unsupported");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: { ideal: "environment" } } });
  } catch (error) {
    stream = null;
    const denied = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
    cameraMessage.textContent = t(denied ? "camera.denied" : "camera.none");
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  startButton.hidden = true;
  stopButton.hidden = false;
  stopButton.focus();
  cameraMessage.textContent = t("camera.pointing");
  scanFrame();
}

function stopCamera() {
  clearTimeout(timer);
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  video.srcObject = null;
  video.hidden = true;
  stopButton.hidden = true;
  startButton.hidden = false;
  startButton.focus();
  cameraMessage.textContent = t("camera.stopped");
}

async function noCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return "camera.unsupported";
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.some((device) => device.kind === "videoinput") ? null : "camera.none";
  } catch {
    return null;  // unknown: let the start button try
  }
}

async function readImage(file) {
  uploadMessage.textContent = t("upload.reading");
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    uploadMessage.textContent = t("upload.bad");
    return;
  }
  // Full size first (print-resolution scans), then smaller for large phone photos.
  let text = null;
  for (const side of [2400, 1200, 800]) {
    text = decode(bitmap, bitmap.width, bitmap.height, side);
    if (text) break;
  }
  bitmap.close();
  if (!text) {
    uploadMessage.textContent = t("upload.none");
    return;
  }
  uploadMessage.textContent = t("upload.found");
  await check({ qr: text });
}

// ---- Wiring -----------------------------------------------------------------------------

startButton.addEventListener("click", startCamera);
stopButton.addEventListener("click", stopCamera);
imageInput.addEventListener("change", () => {
  const file = imageInput.files && imageInput.files[0];
  if (!file) return;
  imageInput.value = "";  // so that choosing the same photo again reads it again
  readImage(file);
});
numberForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const number = numberInput.value.trim();
  if (!number) {
    showProblem(t("error.number"));
    numberInput.focus();
    return;
  }
  check({ card_number: number });
});
window.addEventListener("pagehide", () => { if (stream) stopCamera(); });

noCamera().then((reason) => {
  if (reason) {
    cameraMessage.textContent = t(reason);
    startButton.parentElement.hidden = true;
  }
});
async function showOfflineAge() {
  const hours = await offlineAgeHours();
  setOfflineBanner(hours === null ? t("offline.nobundle") : bannerText(hours));
}

window.addEventListener("offline", showOfflineAge);
window.addEventListener("online", () => { setOfflineBanner(""); prepareOffline(); });
prepareOffline().then(() => (navigator.onLine === false ? showOfflineAge() : null));
