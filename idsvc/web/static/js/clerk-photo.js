// Webcam capture on the photo step: getUserMedia -> canvas -> JPEG blob -> the same upload
// the file form makes. The page then reloads to show the crop the server made.
const section = document.getElementById("camera");
const view = document.getElementById("camera-view");
const start = document.getElementById("camera-start");
const shoot = document.getElementById("camera-shoot");
const status = document.getElementById("camera-status");
const token = document.querySelector('meta[name="csrf-token"]').content;
let stream = null;

function stop() {
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
}

async function upload(blob) {
  status.textContent = section.dataset.sending;
  const body = new FormData();
  body.append("file", blob, "camera.jpg");
  const response = await fetch(section.dataset.upload, {
    method: "POST", body, headers: { "X-CSRF-Token": token }, credentials: "same-origin",
  });
  if (response.ok) {
    window.location.assign(response.url);
    return;
  }
  // A refused image: show the server's reason from the page it answered with.
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const reason = page.getElementById("photo-error");
  status.textContent = reason ? reason.textContent : section.dataset.failed;
}

start.addEventListener("click", async () => {
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false,
    });
  } catch {
    status.textContent = section.dataset.failed;
    return;
  }
  view.srcObject = stream;
  view.hidden = false;
  shoot.hidden = false;
  shoot.focus();
});

shoot.addEventListener("click", () => {
  const canvas = document.createElement("canvas");
  canvas.width = view.videoWidth;
  canvas.height = view.videoHeight;
  canvas.getContext("2d").drawImage(view, 0, 0);
  stop();
  view.hidden = true;
  shoot.hidden = true;
  canvas.toBlob((blob) => upload(blob), "image/jpeg", 0.92);
});

if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  section.hidden = false;
}
window.addEventListener("pagehide", stop);
