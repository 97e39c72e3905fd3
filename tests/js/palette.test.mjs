// The sign palettes (site_src/js/constants.js PALETTES): the default one's positive and negative
// colours stay far apart for readers with colour-blind vision, simulated with Machado, Oliveira
// and Fernandes (2009) at full severity, and the default is mirrored where the stylesheet and the
// Python snapshots need it. Run: node --experimental-detect-module --test tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const { COLORS, DEFAULT_PALETTE, PALETTES } = await import("../../site_src/js/constants.js");
const { colorNames, paletteName, signColors } = await import("../../site_src/js/palette.js");

// Machado et al. 2009, severity 1.0, applied to linear RGB.
const SIMULATIONS = {
  normal: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};

const toLinear = (c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const toSrgb = (l) => (l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055);
const linearRgb = (hex) => [1, 3, 5].map((i) => toLinear(parseInt(hex.slice(i, i + 2), 16) / 255));

// The colour a reader with this vision sees, in linear RGB (clipped to the screen's gamut).
function simulate(hex, matrix) {
  const rgb = linearRgb(hex);
  return matrix.map((row) => Math.min(1, Math.max(0, row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2])));
}

// CIE L*a*b* (D65) of a linear RGB colour, and the CIE76 distance: about 2.3 is just noticeable.
function lab(rgb) {
  const [r, g, b] = rgb.map((l) => toLinear(toSrgb(l))); // round trip: the gamut clip happened in sRGB
  const xyz = [0.4124564 * r + 0.3575761 * g + 0.1804375 * b, 0.2126729 * r + 0.7151522 * g + 0.072175 * b,
    0.0193339 * r + 0.119192 * g + 0.9503041 * b];
  const f = xyz.map((v, i) => v / [0.95047, 1, 1.08883][i]).map((t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116));
  return [116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])];
}
const distance = (a, b) => Math.hypot(...lab(a).map((v, i) => v - lab(b)[i]));
const seen = (palette, vision) => distance(simulate(palette.positive, SIMULATIONS[vision]), simulate(palette.negative, SIMULATIONS[vision]));

test("the default palette's two colours stay far apart in every simulated vision", () => {
  const palette = PALETTES[DEFAULT_PALETTE];
  for (const vision of Object.keys(SIMULATIONS)) {
    const d = seen(palette, vision);
    assert.ok(d > 60, `${vision}: positive and negative only ${d.toFixed(1)} apart`);
  }
});

test("the classic green/red pair is the one red-green colour blindness merges (why it is not the default)", () => {
  const palette = PALETTES["green-red"];
  assert.ok(seen(palette, "normal") > 60);
  for (const vision of ["protanopia", "deuteranopia"]) {
    assert.ok(seen(palette, vision) < 0.35 * seen(PALETTES[DEFAULT_PALETTE], vision), vision);
  }
});

test("the default colours are readable as text on white (WCAG contrast at least 4.5)", () => {
  const luminance = (hex) => { const [r, g, b] = linearRgb(hex); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  for (const hex of [PALETTES[DEFAULT_PALETTE].positive, PALETTES[DEFAULT_PALETTE].negative]) {
    assert.ok(1.05 / (luminance(hex) + 0.05) >= 4.5, hex);
  }
});

test("names, fallbacks and the colours the painter indexes by", () => {
  assert.equal(paletteName("green-red"), "green-red");
  for (const bad of ["", undefined, "toString", "purple"]) assert.equal(paletteName(bad), DEFAULT_PALETTE);
  assert.deepEqual(signColors("green-red"), ["#1a9850", "#d73027", COLORS.zero]);
  assert.deepEqual(colorNames(), { positive: "blue", negative: "orange" });
});

test("the default palette is mirrored in COLORS, the stylesheet and the Python snapshots", () => {
  const { positive, negative, names } = PALETTES[DEFAULT_PALETTE];
  assert.equal(COLORS.positive, positive);
  assert.equal(COLORS.negative, negative);
  const css = readFileSync(new URL("../../site_src/css/report.css", import.meta.url), "utf8");
  assert.match(css, new RegExp(`--fg-positive: ${positive};`));
  assert.match(css, new RegExp(`--fg-negative: ${negative};`));
  const python = readFileSync(new URL("../../generator/site/palette.py", import.meta.url), "utf8");
  assert.match(python, new RegExp(`POSITIVE = "${positive}"`));
  assert.match(python, new RegExp(`NEGATIVE = "${negative}"`));
  assert.match(python, new RegExp(`NAMES = \\{"positive": "${names.positive}", "negative": "${names.negative}"\\}`));
});
