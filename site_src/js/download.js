// The download menu every figure gets: what the reader sees now as SVG (text kept as text) and
// as PNG, and the figure's data as JSON (and as CSV where it is a table). A figure offers what it
// can through `exports()`: {svg(): string, png(): Promise<Blob>, json(): object, csv?(): string}.

import { SvgContext } from "./svgcontext.js";

// addDownloads(figureElement, figure, name): a small menu in the figure's caption.
export function addDownloads(figureElement, figure, name) {
  if (!figure.exports || !figureElement) return;
  const caption = figureElement.querySelector("figcaption");
  const menu = document.createElement("details");
  menu.className = "fg-downloads";
  menu.innerHTML = "<summary>Download</summary>";
  const list = document.createElement("span");
  list.className = "fg-download-list";
  menu.appendChild(list);
  const exports = figure.exports();
  const items = [
    ["svg", "this view as SVG", async () => new Blob([await exports.svg()], { type: "image/svg+xml" })],
    ["png", "this view as PNG", async () => exports.png()],
    ["json", "its data as JSON", async () => new Blob([JSON.stringify(await exports.json(), null, 1)], { type: "application/json" })],
    ...(exports.csv ? [["csv", "its data as CSV", async () => new Blob([await exports.csv()], { type: "text/csv" })]] : []),
  ];
  for (const [extension, label, make] of items) {
    if (!exports[extension] && extension !== "json") continue;
    const button = document.createElement("button");
    button.type = "button";
    button.className = `fg-button fg-download-${extension}`;
    button.textContent = label;
    button.addEventListener("click", async () => save(await make(), `${name}.${extension}`));
    list.appendChild(button);
  }
  (caption ?? figureElement).appendChild(menu);
}

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// Helpers for the figures' exports.

// The SVG and PNG of a figure painted on a canvas: draw(ctx) paints the current view (as the
// screen shows it, size() = [width, height] in CSS px) on an SVG context (text stays text) or on
// a canvas twice the screen's size.
export function paintedPicture(size, draw) {
  return {
    svg: () => {
      const [width, height] = size();
      const ctx = new SvgContext(width, height);
      draw(ctx);
      return ctx.toString();
    },
    png: () => {
      const [width, height] = size();
      const scale = 2;
      const canvas = document.createElement("canvas");
      canvas.width = width * scale;
      canvas.height = height * scale;
      const ctx = canvas.getContext("2d");
      ctx.setTransform(scale, 0, 0, scale, 0, 0);
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, width, height);
      draw(ctx);
      return canvasBlob(canvas);
    },
  };
}

export function canvasBlob(canvas) {
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

// An SVG string drawn into a PNG, `scale` times its size (for figures drawn in SVG).
export async function svgToPng(svg, width, height, scale = 2) {
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  return canvasBlob(canvas);
}

export function toCsv(rows) {
  if (!rows.length) return "";
  const columns = Object.keys(rows[0]);
  const cell = (v) => (typeof v === "string" && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v ?? ""));
  return [columns.join(","), ...rows.map((row) => columns.map((c) => cell(row[c])).join(","))].join("\n") + "\n";
}
