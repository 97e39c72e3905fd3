// The legend row above a graph figure: node shapes, and the colour bar of edge colours with the
// largest |amount| at its ends, each end naming its colour (the page's sign palette), a note of
// what an edge's colour and width mean, and the switch to the other palette.

import { COLORS, format2 } from "./constants.js";
import { colorNames, paletteSwitch } from "./palette.js";

const swatch = (shape) => `<svg width="14" height="14" aria-hidden="true">${shape}</svg>`;

// graphLegend(container (d3 selection), palette, onPalette?) -> {show(maxAbs, withValues),
// setPalette(name)}: show puts ± the largest |amount| drawn at the bar's ends; withValues: edges
// show weight × value, not the weight alone. Without onPalette there is no switch.
export function graphLegend(legend, palette, onPalette = null) {
  const item = () => legend.append("span").attr("class", "fg-legend-item");
  item().html(`${swatch('<circle cx="7" cy="7" r="5.5" fill="#fff" stroke="#333" stroke-width="1.5"/>')}ReLU`);
  item().html(`${swatch(`<rect x="2" y="2" width="10" height="10" fill="${COLORS.identityFill}" stroke="#333" stroke-width="1.5"/>`)}identity (never negative)`);
  item().html(`${swatch('<circle cx="7" cy="7" r="5" fill="#fff" stroke="#333" stroke-width="2.5"/>')}output`);
  const colorLegend = legend.append("span").attr("class", "fg-legend-item fg-colorbar-item");
  const lowEnd = colorLegend.append("span").attr("class", "fg-colorbar-end fg-neg-text");
  const negName = lowEnd.append("span").attr("class", "fg-sign-neg");
  const low = lowEnd.append("span");
  colorLegend.append("span").attr("class", "fg-colorbar").attr("aria-hidden", "true");
  const highEnd = colorLegend.append("span").attr("class", "fg-colorbar-end fg-pos-text");
  const high = highEnd.append("span");
  const posName = highEnd.append("span").attr("class", "fg-sign-pos");
  const colorNote = legend.append("span").attr("class", "fg-legend-note");
  const toggle = onPalette ? paletteSwitch(legend.append("span").attr("class", "fg-legend-item"), palette, onPalette) : null;
  const setPalette = (name) => {
    const names = colorNames(name);
    negName.text(names.negative);
    posName.text(names.positive);
    toggle?.set(name);
  };
  setPalette(palette);
  return {
    show(maxAbs, withValues) {
      low.text(`−${format2(maxAbs)}`);
      high.text(`+${format2(maxAbs)}`);
      colorNote.text(withValues ? "edge: weight × the value it carries (width ∝ |value|)" : "edge: weight (width ∝ |w|)");
    },
    setPalette,
  };
}
