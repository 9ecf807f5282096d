// QR decoding with jsQR (vendored, see vendor/jsQR.LICENSE): from the camera
// (getUserMedia, the back camera when there is one) or from a picked photo.

const MAX_SIDE = 800;

function decode(source, width, height) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const hgt = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = hgt;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, w, hgt);
  const image = ctx.getImageData(0, 0, w, hgt);
  const found = window.jsQR(image.data, w, hgt, { inversionAttempts: "attemptBoth" });
  return found ? found.data : null;
}

export async function decodeFile(file) {
  const bitmap = await createImageBitmap(file);
  try {
    return decode(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

// Starts the camera into `video`; calls onCode(text) once with the first QR code seen.
// Returns a stop() function.
export async function startCamera(video, onCode) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } },
    audio: false,
  });
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  video.muted = true;
  await video.play();
  let stopped = false;
  let timer = null;
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  const tick = () => {
    if (stopped) return;
    if (video.readyState >= 2 && video.videoWidth) {
      const text = decode(video, video.videoWidth, video.videoHeight);
      if (text) {
        stop();
        onCode(text);
        return;
      }
    }
    // ~6 decodes a second: enough to feel instant, light on a phone's battery.
    timer = setTimeout(tick, 150);
  };
  tick();
  return stop;
}
