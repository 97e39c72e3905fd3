// The cart and pole drawn in SVG, in the simulator's own units (metres): the track, its ends,
// the angle beyond which the episode ends, the cart, the pole, and an arrow for the push.

import { THETA_THRESHOLD, X_THRESHOLD } from "./cartpole.js";
import { svgToPng } from "./download.js";
import { draw as drawFlowgraph } from "./flowgraph.js";

const POLE = 1.0; // drawn length (gymnasium's half-length 0.5, doubled)

// drawCart(container (d3 selection)) -> {show(state, push: -1 | 0 | 1, nudge: -1 | 0 | 1), svg}
export function drawCart(container) {
  const svg = container.append("svg").attr("class", "fg-cartpole").attr("viewBox", "-2.7 -1.45 5.4 1.75")
    .attr("role", "img");
  svg.append("line").attr("class", "fg-track").attr("x1", -X_THRESHOLD).attr("x2", X_THRESHOLD).attr("y1", 0).attr("y2", 0);
  for (const x of [-X_THRESHOLD, X_THRESHOLD]) {
    svg.append("line").attr("class", "fg-track-end").attr("x1", x).attr("x2", x).attr("y1", -0.12).attr("y2", 0.12);
  }
  const cart = svg.append("g").attr("class", "fg-cart");
  const tip = (a) => [Math.sin(a) * POLE, -0.15 - Math.cos(a) * POLE];
  cart.append("path").attr("class", "fg-angle-limits")
    .attr("d", `M0,-0.15 L${tip(-THETA_THRESHOLD)} A${POLE},${POLE} 0 0 1 ${tip(THETA_THRESHOLD)} Z`);
  cart.append("rect").attr("x", -0.25).attr("y", -0.15).attr("width", 0.5).attr("height", 0.3).attr("rx", 0.03);
  const pole = cart.append("line").attr("class", "fg-pole").attr("x1", 0).attr("y1", -0.15);
  const push = cart.append("path").attr("class", "fg-push");
  const nudgeArrow = cart.append("path").attr("class", "fg-nudge");
  const arrow = (direction, y) => (direction > 0 ? `M0.3,${y} L0.55,${y} M0.47,${y - 0.06} L0.55,${y} L0.47,${y + 0.06}`
    : direction < 0 ? `M-0.3,${y} L-0.55,${y} M-0.47,${y - 0.06} L-0.55,${y} L-0.47,${y + 0.06}` : null);

  return {
    svg,
    show(state, pushDirection = 0, nudge = 0) {
      const [x, , theta] = state;
      cart.attr("transform", `translate(${x},0)`);
      const [px, py] = tip(theta);
      pole.attr("x2", px).attr("y2", py);
      push.attr("d", arrow(pushDirection, 0));
      nudgeArrow.attr("d", arrow(nudge, -0.22));
      svg.attr("aria-label", `cart at x = ${x.toFixed(2)} m, pole at ${((theta * 180) / Math.PI).toFixed(1)} degrees`);
    },
  };
}

// The cart drawing and the graph side by side, as one SVG (the download menu's picture).
export function cartAndGraphSvg(cartSvg, graphFigure) {
  const graph = graphFigure.exports().svg();
  const width = Number(graph.match(/width="([\d.]+)"/)[1]);
  const height = Number(graph.match(/height="([\d.]+)"/)[1]);
  const cart = new XMLSerializer().serializeToString(cartSvg).replace("<svg ", '<svg x="0" y="0" width="300" height="110" ');
  const inner = graph.replace("<svg ", `<svg x="310" y="0" `);
  return { svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${width + 310}" height="${Math.max(height, 110)}">`
    + `<rect width="100%" height="100%" fill="#fff"/>${cart}${inner}</svg>`, width: width + 310, height: Math.max(height, 110) };
}

// The layout the episode and balance figures share: the cart and a readout on the left, the
// agent's graph beside them (in the page's sign palette, with its switch). choose(values) is the
// agent's push (1: right), the larger Q-value; downloads() gives the picture of both for the
// download menu.
export function cartBesideGraph(root, data, { palette, onPalette } = {}) {
  const body = root.append("div").attr("class", "fg-episode-body");
  const left = body.append("div").attr("class", "fg-episode-left");
  const cart = drawCart(left);
  const readout = left.append("div").attr("class", "fg-readout").attr("aria-live", "polite");
  const graphBox = body.append("div").attr("class", "fg-episode-graph");
  const graphFigure = drawFlowgraph(graphBox.node(), { graph: data.graph, compiled: data.compiled, traces: null },
    { output: "all", sample: "none", caption: false, palette, onPalette, onChange: () => {} });
  const outputs = data.graph.nodes.filter((d) => d.kind === "output").sort((a, b) => a.class - b.class)
    .map((d) => data.compiled.index.get(d.id));
  const picture = () => cartAndGraphSvg(cart.svg.node(), graphFigure);
  return {
    left, cart, readout, graphFigure, outputs,
    choose: (values) => (values[outputs[1]] > values[outputs[0]] ? 1 : 0),
    downloads: () => ({
      svg: () => picture().svg,
      png: () => { const { svg, width, height } = picture(); return svgToPng(svg, width, height); },
    }),
  };
}
