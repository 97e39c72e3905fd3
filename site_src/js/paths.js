// The paths between some nodes of a flowgraph as a figure of its own: the figure's pins (a
// backdoor's trigger pixels and the class it forces, say), the nodes on a path from one to
// another, in the compact layout the live figure's pinned view uses. Everything else is the
// flowgraph figure (flowgraph.js): a test image shows what each edge carries.

import { draw as drawFlowgraph } from "./flowgraph.js";
import { compactLayout, compile, pathsBetween } from "./graph.js";

export function draw(element, data, options = {}) {
  const g = data.compiled ?? compile(data.graph);
  const ids = (options.pins ?? "").split(",").filter((id) => g.index.has(id));
  if (!ids.length) throw new Error("this figure needs pins: the nodes whose paths it shows");
  const keep = pathsBetween(g, ids);
  const subset = Uint8Array.from(data.graph.nodes, (d) => (keep.has(d.id) ? 1 : 0));
  return drawFlowgraph(element, { ...data, compiled: g }, { ...options, subset, positions: compactLayout(data.graph, subset) });
}
