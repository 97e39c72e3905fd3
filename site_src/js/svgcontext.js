// The part of the Canvas 2D API that paint.js uses, writing SVG instead of pixels: the same
// drawing code gives the figure on screen and its download, with text kept as text (so a vector
// editor can change it). Coordinates are CSS pixels, as on the canvas.

export class SvgContext {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.parts = [];
    this.path = "";
    this.stack = [];
    Object.assign(this, {
      fillStyle: "#000", strokeStyle: "#000", lineWidth: 1, globalAlpha: 1, font: "10px sans-serif",
      textAlign: "start", textBaseline: "alphabetic", lineJoin: "miter", lineCap: "butt",
      imageSmoothingEnabled: true, dash: [],
    });
  }

  // ---- state
  save() {
    this.stack.push({ fillStyle: this.fillStyle, strokeStyle: this.strokeStyle, lineWidth: this.lineWidth,
      globalAlpha: this.globalAlpha, font: this.font, textAlign: this.textAlign, textBaseline: this.textBaseline,
      dash: this.dash });
  }

  restore() { Object.assign(this, this.stack.pop() ?? {}); }
  setTransform() {} // paint.js draws in CSS pixels; the canvas' device-pixel scale does not apply here
  setLineDash(dash) { this.dash = dash; }
  clearRect() {}

  // ---- paths
  beginPath() { this.path = ""; }
  moveTo(x, y) { this.path += `M${r(x)},${r(y)}`; }
  lineTo(x, y) { this.path += `L${r(x)},${r(y)}`; }
  bezierCurveTo(a, b, c, d, x, y) { this.path += `C${r(a)},${r(b)} ${r(c)},${r(d)} ${r(x)},${r(y)}`; }
  closePath() { this.path += "Z"; }
  rect(x, y, w, h) { this.path += `M${r(x)},${r(y)}h${r(w)}v${r(h)}h${r(-w)}Z`; }
  arc(x, y, radius) { // whole circles only, which is all paint.js draws
    this.path += `M${r(x - radius)},${r(y)}a${r(radius)},${r(radius)} 0 1,0 ${r(2 * radius)},0`
      + `a${r(radius)},${r(radius)} 0 1,0 ${r(-2 * radius)},0Z`;
  }

  fill() { if (this.path) this.parts.push(`<path d="${this.path}" fill="${this.fillStyle}"${this.alpha()}/>`); }
  stroke() {
    if (!this.path) return;
    this.parts.push(`<path d="${this.path}" fill="none" stroke="${this.strokeStyle}" stroke-width="${r(this.lineWidth)}"`
      + ` stroke-linecap="${this.lineCap}" stroke-linejoin="${this.lineJoin}"${this.dashes()}${this.alpha()}/>`);
  }

  fillRect(x, y, w, h) {
    this.parts.push(`<rect x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${r(h)}" fill="${this.fillStyle}"${this.alpha()}/>`);
  }

  strokeRect(x, y, w, h) {
    this.parts.push(`<rect x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${r(h)}" fill="none" `
      + `stroke="${this.strokeStyle}" stroke-width="${r(this.lineWidth)}"${this.dashes()}${this.alpha()}/>`);
  }

  // ---- text and images
  fillText(text, x, y) { this.text(text, x, y, `fill="${this.fillStyle}"`); }
  strokeText(text, x, y) {
    this.text(text, x, y, `fill="none" stroke="${this.strokeStyle}" stroke-width="${r(this.lineWidth)}" stroke-linejoin="round"`);
  }

  measureText(text) {
    return { width: String(text).length * this.fontSize() * 0.6 };
  }

  drawImage(image, x, y, w, h) {
    const source = image.toDataURL ? image.toDataURL("image/png") : image.src;
    this.parts.push(`<image x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${r(h)}" preserveAspectRatio="none"`
      + `${this.imageSmoothingEnabled ? "" : ' style="image-rendering:pixelated"'} href="${source}"${this.alpha()}/>`);
  }

  // ---- output
  toString(background = "#ffffff") {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" `
      + `viewBox="0 0 ${this.width} ${this.height}"><rect width="100%" height="100%" fill="${background}"/>`
      + `${this.parts.join("")}</svg>`;
  }

  text(text, x, y, paint) {
    const [, weight, size, family] = this.font.match(/^\s*(\d{3}|bold)?\s*([\d.]+)px\s+(.*)$/) ?? [null, null, "10", "sans-serif"];
    const anchor = { left: "start", start: "start", center: "middle", right: "end", end: "end" }[this.textAlign] ?? "start";
    const baseline = this.textBaseline === "middle" ? ' dominant-baseline="central"' : "";
    this.parts.push(`<text x="${r(x)}" y="${r(y)}" font-size="${size}" font-family="${escape(family)}"`
      + `${weight ? ` font-weight="${weight}"` : ""} text-anchor="${anchor}"${baseline} ${paint}${this.alpha()}>`
      + `${escape(text)}</text>`);
  }

  fontSize() {
    return Number((this.font.match(/([\d.]+)px/) ?? [0, 10])[1]);
  }

  alpha() { return this.globalAlpha < 1 ? ` opacity="${r(this.globalAlpha)}"` : ""; }
  dashes() { return this.dash.length ? ` stroke-dasharray="${this.dash.join(" ")}"` : ""; }
}

const r = (v) => Math.round(v * 100) / 100;
const escape = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
