// The test images the build ships (data/mnist/test-images.bin.gz): gzip of N labels, then
// N × 784 pixels (uint8), as in the IDX files. Used by the scorer's worker and by the figures
// that show test images themselves.

export const SIDE = 28;

// "an" before a digit read with a vowel sound (an 8), "a" before the others (a 7).
export const article = (digit) => (digit === 8 ? "an" : "a");

// loadTestImages(url) -> {count, labels: Uint8Array, pixels: Uint8Array(count × 784), image(i)}
export async function loadTestImages(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const bytes = new Uint8Array(await new Response(response.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
  const count = bytes.length / (1 + SIDE * SIDE);
  if (!Number.isInteger(count)) throw new Error(`${url}: not a whole number of 28×28 images`);
  const pixels = bytes.subarray(count);
  return { count, labels: bytes.slice(0, count), pixels,
    image: (i) => pixels.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE) };
}

// paintDigit(canvas, pixels): a 28×28 image, dark ink on white as the report shows digits.
export function paintDigit(canvas, pixels) {
  canvas.width = SIDE;
  canvas.height = SIDE;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) image.data.set([255 - pixels[i], 255 - pixels[i], 255 - pixels[i], 255], 4 * i);
  ctx.putImageData(image, 0, 0);
  return canvas;
}
