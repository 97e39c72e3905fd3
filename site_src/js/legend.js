// The legend row above a graph figure: node shapes, and the colour bar of edge colours with
// the largest |amount| at its ends and a note of what an edge's colour and width mean.

import { COLORS, format2 } from "./constants.js";

const swatch = (shape) => `<svg width="14" height="14" aria-hidden="true">${shape}</svg>`;

// graphLegend(container (d3 selection)) -> {show(maxAbs, withValues)}: the colour bar's ends at
// ± the largest |amount| drawn; withValues: edges show weight × value, not the weight alone.
export function graphLegend(legend) {
  const item = () => legend.append("span").attr("class", "fg-legend-item");
  item().html(`${swatch('<circle cx="7" cy="7" r="5.5" fill="#fff" stroke="#333" stroke-width="1.5"/>')}ReLU`);
  item().html(`${swatch(`<rect x="2" y="2" width="10" height="10" fill="${COLORS.identityFill}" stroke="#333" stroke-width="1.5"/>`)}identity (never negative)`);
  item().html(`${swatch('<circle cx="7" cy="7" r="5" fill="#fff" stroke="#333" stroke-width="2.5"/>')}output`);
  const colorLegend = legend.append("span").attr("class", "fg-legend-item fg-colorbar-item");
  const low = colorLegend.append("span").attr("class", "fg-colorbar-end fg-neg-text");
  colorLegend.append("span").attr("class", "fg-colorbar").attr("aria-hidden", "true");
  const high = colorLegend.append("span").attr("class", "fg-colorbar-end fg-pos-text");
  const colorNote = legend.append("span").attr("class", "fg-legend-note");
  return {
    show(maxAbs, withValues) {
      low.text(`−${format2(maxAbs)}`);
      high.text(`+${format2(maxAbs)}`);
      colorNote.text(withValues ? "edge: weight × the value it carries (width ∝ |value|)" : "edge: weight (width ∝ |w|)");
    },
  };
}
