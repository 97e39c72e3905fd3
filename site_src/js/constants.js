// Visual constants shared by every figure. Sizes are in layout units (the pixels of
// flowgraph.json's layout), so they zoom with the graph. Colours are mirrored as CSS variables
// in css/report.css; change both together.

export const COLORS = {
  positive: "#1a9850", // green: positive weight or contribution
  negative: "#d73027", // red: negative weight or contribution
  zero: "#bbbbbb", // grey: exactly zero
  neutral: "#f2f2f2", // filter pixels with no weight
  node: "#333333",
  nodeFill: "#ffffff",
  constant: "#888888",
  grid: "#cccccc",
};

// Default view state; the URL hash and data-options override it.
export const DEFAULT_OPTIONS = { output: "all", sample: "none", inputs: "pixels" };

// The keys a figure keeps in the URL hash (see docs/schema.md, "View state in the URL").
export const STATE_KEYS = ["output", "sample", "inputs"];

export const FLOWGRAPH = {
  // Sizes below are for a layout 1400 units wide (layout.width); other layouts scale them.
  referenceWidth: 1400,
  labelSize: 22, // font size of node labels; also capped by the spacing of the nodes
  labelSpacing: 0.42, // labels (two lines) at most this fraction of the closest vertical spacing
  nodeRadius: 0.5, // neurons and outputs, as a fraction of the label size
  inputInset: 1, // gap between neighbouring pixel squares
  edgeWidthMax: 5, // width of the strongest edge
  edgeWidthMin: 0.5,
  hairline: 0.6, // edges that carry exactly zero on the chosen sample
  fitPadding: 30, // margin kept around the visible nodes when zooming to fit (screen pixels)
  fitMaxScale: 2.5, // never zoom in further than this when fitting a small subgraph
  zoomExtent: [0.05, 20],
  transitionMs: 350,
  filterScaleMax: 4, // layout units per filter pixel, at most (times the layout scale)
  filterScaleMin: 1,
  filterGap: 6, // between a neuron and its filter images
};

export const FILTERS = {
  pixelSize: 3, // screen pixels per image pixel in the filter grid
};

// Number formatting used in every label: two decimals, as the reader compares values by eye.
export const format2 = (v) => {
  const s = (Math.round(v * 100) / 100).toFixed(2);
  return s === "-0.00" ? "0.00" : s;
};
export const formatBounds = ([lo, hi]) => `<${format2(lo)},${format2(hi)}>`;
