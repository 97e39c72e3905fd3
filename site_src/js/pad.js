// A drawing pad for a digit (mouse, pen and touch) and the preprocessing MNIST's digits went
// through: the ink's bounding box scaled into 20×20 keeping its aspect ratio, then placed in a
// 28×28 field so that its centre of mass is at the centre.

const PAD = 280; // the pad's own pixels (10 per image pixel)
const BRUSH = 22; // pen width on the pad
const BOX = 20; // MNIST: the digit's bounding box fits in 20 × 20 ...
const FIELD = 28; // ... centred by mass in 28 × 28

// createPad(container (d3 selection), {onInput(pixels: Uint8Array(784), drawn: boolean)})
//   -> {clear(), showImage(pixels), pixels()}
export function createPad(container, { onInput }) {
  const canvas = container.append("canvas").attr("class", "fg-pad").attr("width", PAD).attr("height", PAD)
    .attr("role", "img").attr("aria-label", "drawing pad: draw a digit with the mouse, a pen or a finger")
    .node();
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let current = new Uint8Array(FIELD * FIELD);
  let last = null;
  let pending = false;
  let lastPreprocessMs = null;

  function clear() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, PAD, PAD);
    current = new Uint8Array(FIELD * FIELD);
  }

  // Show an image (a test image to start from) on the pad, each pixel a 10 × 10 block.
  function showImage(pixels) {
    const image = ctx.createImageData(PAD, PAD);
    const scale = PAD / FIELD;
    for (let y = 0; y < PAD; y++) {
      for (let x = 0; x < PAD; x++) {
        const v = pixels[Math.floor(y / scale) * FIELD + Math.floor(x / scale)];
        const o = 4 * (y * PAD + x);
        image.data[o] = image.data[o + 1] = image.data[o + 2] = v;
        image.data[o + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
    current = Uint8Array.from(pixels);
  }

  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [((event.clientX - box.left) * PAD) / box.width, ((event.clientY - box.top) * PAD) / box.height];
  }

  function stroke(from, to) {
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = "#fff";
    ctx.lineWidth = BRUSH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(...from);
    ctx.lineTo(...to);
    ctx.stroke();
  }

  // Recompute the network's input at most once per frame, however fast the pointer moves.
  function changed() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const t0 = performance.now();
      current = preprocess(ctx.getImageData(0, 0, PAD, PAD).data);
      lastPreprocessMs = performance.now() - t0;
      onInput(current, true);
    });
  }

  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    stroke(last, last);
    changed();
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = point(event);
    stroke(last, next);
    last = next;
    changed();
  });
  const end = () => { last = null; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  clear();
  return { clear, showImage, pixels: () => current, element: canvas, preprocessMs: () => lastPreprocessMs };
}

// preprocess(rgba of the PAD × PAD canvas) -> Uint8Array(784) as MNIST made its digits.
export function preprocess(rgba) {
  const ink = new Float64Array(PAD * PAD);
  let x0 = PAD, y0 = PAD, x1 = -1, y1 = -1;
  for (let i = 0; i < PAD * PAD; i++) {
    ink[i] = rgba[4 * i] / 255;
    if (ink[i] > 0) {
      const x = i % PAD, y = Math.floor(i / PAD);
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  const out = new Uint8Array(FIELD * FIELD);
  if (x1 < 0) return out;
  // Scale the bounding box so that its longer side is BOX pixels (area averaging).
  const w = x1 - x0 + 1, h = y1 - y0 + 1;
  const scale = BOX / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * scale)), th = Math.max(1, Math.round(h * scale));
  const small = new Float64Array(tw * th);
  for (let ty = 0; ty < th; ty++) {
    for (let tx = 0; tx < tw; tx++) {
      const sx0 = x0 + tx / scale, sx1 = x0 + (tx + 1) / scale;
      const sy0 = y0 + ty / scale, sy1 = y0 + (ty + 1) / scale;
      let sum = 0, area = 0;
      for (let sy = Math.floor(sy0); sy < Math.ceil(sy1); sy++) {
        const fy = Math.min(sy + 1, sy1) - Math.max(sy, sy0);
        for (let sx = Math.floor(sx0); sx < Math.ceil(sx1); sx++) {
          const fx = Math.min(sx + 1, sx1) - Math.max(sx, sx0);
          if (sx < PAD && sy < PAD) sum += ink[sy * PAD + sx] * fx * fy;
          area += fx * fy;
        }
      }
      small[ty * tw + tx] = area ? sum / area : 0;
    }
  }
  // Centre of mass of the scaled digit, placed at the centre of the field.
  let mass = 0, mx = 0, my = 0;
  for (let ty = 0; ty < th; ty++) {
    for (let tx = 0; tx < tw; tx++) {
      const v = small[ty * tw + tx];
      mass += v; mx += v * (tx + 0.5); my += v * (ty + 0.5);
    }
  }
  const ox = Math.round(FIELD / 2 - (mass ? mx / mass : tw / 2));
  const oy = Math.round(FIELD / 2 - (mass ? my / mass : th / 2));
  for (let ty = 0; ty < th; ty++) {
    for (let tx = 0; tx < tw; tx++) {
      const x = tx + ox, y = ty + oy;
      if (x >= 0 && x < FIELD && y >= 0 && y < FIELD) out[y * FIELD + x] = Math.round(255 * Math.min(1, small[ty * tw + tx]));
    }
  }
  return out;
}

// A drawing in the URL: runs of zeros as (0, count), other pixels as themselves, base64url.
export function encodePixels(pixels) {
  const bytes = [];
  for (let i = 0; i < pixels.length;) {
    if (pixels[i] === 0) {
      let run = 0;
      while (i < pixels.length && pixels[i] === 0 && run < 255) { run++; i++; }
      bytes.push(0, run);
    } else {
      bytes.push(pixels[i++]);
    }
  }
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodePixels(text) {
  try {
    const raw = atob(String(text).replace(/-/g, "+").replace(/_/g, "/"));
    const out = [];
    for (let i = 0; i < raw.length; i++) {
      const b = raw.charCodeAt(i);
      if (b === 0) { for (let k = 0; k < raw.charCodeAt(i + 1); k++) out.push(0); i++; } else out.push(b);
    }
    return out.length === FIELD * FIELD ? Uint8Array.from(out) : null;
  } catch {
    return null; // a damaged link: no drawing
  }
}
