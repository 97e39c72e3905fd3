// Visual constants shared by every figure, in one place. Sizes in layout units (the pixels of
// flowgraph.json's layout) scale with zoom; sizes in px stay the same on screen. Colours are
// mirrored as CSS variables in css/report.css and in generator/site/snapshot.py; change all together.

// Sign palettes: the two colours that tell positive from negative in every figure (palette.js).
// Blue/orange, the default, stays apart under red-green colour blindness (tests/js/palette.test.mjs
// simulates it); green/red is the classic pair. The default is mirrored in css/report.css and
// generator/site/palette.py.
export const PALETTES = {
  "blue-orange": { positive: "#2166ac", negative: "#c05600", names: { positive: "blue", negative: "orange" } },
  "green-red": { positive: "#1a9850", negative: "#d73027", names: { positive: "green", negative: "red" } },
};
export const DEFAULT_PALETTE = "blue-orange";

export const COLORS = {
  positive: PALETTES[DEFAULT_PALETTE].positive, // positive weight or contribution (figures use the page's palette)
  negative: PALETTES[DEFAULT_PALETTE].negative, // negative weight or contribution
  zero: "#b0b0b0", // grey: exactly zero
  neutral: "#f2f2f2", // filter pixels with no weight
  node: "#333333",
  nodeFill: "#ffffff",
  identityFill: "#e8eef7", // neurons whose ReLU never acts (always >= 0): the identity
  constant: "#888888",
  grid: "#cccccc",
  pixel: "#e4e4e4",
  focus: "#1f5fa8",
  label: "#222222",
  dim: "rgba(255, 255, 255, 0.82)", // laid over the figure to fade what a highlight leaves out
  pin: "#222222", // the dot on a pinned node: no hue of either sign palette
};

// Default view state; the URL hash and data-options override it.
export const DEFAULT_OPTIONS = { output: "all", sample: "none", inputs: "pixels", node: "", step: "0",
  drawing: "", threshold: "", layer: "", round: "", pins: "", zoom: "", seed: "", network: "", point: "", group: "" };

// The keys a figure keeps in the URL hash (see docs/schema.md, "View state in the URL").
export const STATE_KEYS = ["output", "sample", "inputs", "node", "step", "drawing", "threshold", "layer", "round",
  "pins", "zoom", "seed", "network", "point", "group"];

// Keys the whole page shares, kept unprefixed in the hash on every page (state.js): the palette.
export const PAGE_KEYS = ["palette"];

export const FLOWGRAPH = {
  labelPx: 12, // node labels, in screen px: never smaller; labels that do not fit are hidden
  titlePx: 12, // layer titles
  nodeRadius: 9, // neurons and outputs, layout units
  nodeRadiusPx: [3.5, 11], // ... but never smaller or larger than this on screen
  inputInset: 1, // gap between neighbouring pixel squares, layout units
  edgeWidthPx: [0.6, 4.5], // screen px of the weakest and the strongest edge
  hairlinePx: 0.5, // edges that carry exactly zero on the chosen input
  curveEdgesUpTo: 6000, // more visible edges than this are drawn straight (speed)
  fitPadding: 24, // screen px kept around the visible nodes when zooming to fit
  fitMaxScale: 3, // never zoom in further than this when fitting a small subgraph
  zoomExtent: [0.05, 40],
  zoomStep: 1.6, // the + and − buttons and keys
  transitionMs: 350,
  filterScale: 1.1, // a filter image is at most this many layout units per image pixel...
  filterGapUnits: 6, // ...with this gap between a neuron, its filter and its product
  hoverRadiusPx: 14, // how close the pointer must be to a node to hover it
  reportHeight: 560, // px of the figure in the report (CSS var --fg-report-height)
  shortestStage: 240, // px: the least height a figure is shortened to on a wide screen
  phoneWidth: 600, // below this stage width the layout is a phone's
};

export const FILTERS = {
  pixelSize: 3, // screen pixels per image pixel in the filter grid
};

// Number formatting used in every label: two decimals, as the reader compares values by eye.
export const format2 = (v) => {
  const s = (Math.round(v * 100) / 100).toFixed(2);
  return s === "-0.00" ? "0.00" : s;
};
export const formatBounds = ([lo, hi]) => `⟨${format2(lo)}, ${format2(hi)}⟩`;
export const signed2 = (v) => (v < 0 ? `− ${format2(-v)}` : `+ ${format2(v)}`);
