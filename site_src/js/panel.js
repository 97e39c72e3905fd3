// The node panel: what a node computes, written out. Opened by clicking or tapping a node, or
// by Enter on the focused node: its id, kind and bounds, its formula with the weights and source
// names rounded to two decimals, and with an input chosen its value and each term's
// contribution. A source's name is a button that moves the panel to it. Also the shorter
// descriptions of a node: its tooltip and the line a screen reader hears.

import { displayName } from "./graph.js";
import { format2, formatBounds, signed2 } from "./constants.js";

const SHOWN_TERMS = 12;

export function describeNode(node, shape) {
  const kind = node.kind === "input" ? "input"
    : node.kind === "output" ? `output${node.name ? `, ${node.name}` : `, class ${node.class}`}`
      : node.activation === "relu" ? "neuron (ReLU)" : "neuron (identity: never negative, so its ReLU does nothing)";
  return `${displayName(node, shape)}: ${kind}`;
}

// One line for a screen reader when the keyboard walks to a node.
export function nodeSummary(node, shape, value = null) {
  return `${describeNode(node, shape)}, bounds ${formatBounds(node.bounds)}${value !== null ? `, value ${format2(value)}` : ""}`;
}

// The tooltip of a hovered node (a d3 selection), placed beside the pointer [mx, my] and kept
// inside the stage (width × height px); i < 0 hides it.
export function showTooltip(tooltip, node, shape, value, [mx, my], [width, height]) {
  if (!node) {
    tooltip.attr("hidden", "");
    return;
  }
  const lines = [describeNode(node, shape), `bounds ${formatBounds(node.bounds)}`];
  if (node.kind !== "input") lines.push(`bias ${format2(node.bias)}`);
  if (value !== null) lines.push(`value ${format2(value)}`);
  lines.push("click for its formula");
  tooltip.attr("hidden", null).selectAll("div").data(lines).join("div").text((line) => line);
  const flip = mx > width - 260;
  tooltip.style("left", flip ? null : `${mx + 14}px`).style("right", flip ? `${width - mx + 14}px` : null)
    .style("top", `${Math.min(my + 14, height - 110)}px`);
}

// terms(g, i, values) -> [{source, weight, value?, contribution?}] sorted by what matters most.
export function terms(g, i, values, weights = g.weights) {
  const list = [];
  for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) {
    const source = g.sources[j];
    const weight = weights[j];
    list.push(values ? { source, weight, value: values[source], contribution: weight * values[source] }
      : { source, weight });
  }
  const key = values ? (t) => Math.abs(t.contribution) : (t) => Math.abs(t.weight);
  return list.sort((a, b) => key(b) - key(a) || a.source - b.source);
}

// renderPanel(container (d3 selection), {node, index, g, nodes, shape, values, weights?, onGo,
// onClose, pinned?, onPin?}); weights: the CSR weights in use (pruned ones at 0).
export function renderPanel(container, { node, index, g, nodes, shape, values, weights = g.weights, onGo, onClose,
  pinned = null, onPin = null }) {
  container.selectAll("*").remove();
  container.attr("hidden", null);
  const head = container.append("div").attr("class", "fg-panel-head");
  head.append("strong").text(describeNode(node, shape));
  const buttons = head.append("span");
  if (onPin) {
    buttons.append("button").attr("type", "button").attr("class", "fg-button fg-panel-pin")
      .attr("aria-pressed", pinned ? "true" : "false").text(pinned ? "unpin" : "pin").on("click", onPin);
  }
  buttons.append("button").attr("type", "button").attr("class", "fg-panel-close").attr("aria-label", "Close the panel")
    .text("×").on("click", onClose);
  const facts = container.append("div").attr("class", "fg-panel-facts");
  facts.append("span").text(`bounds ${formatBounds(node.bounds)}`);
  if (node.bounds_kind && node.kind !== "input") {
    facts.append("span").attr("class", "fg-bounds-kind").text(node.bounds_kind === "exact"
      ? "exact: its true range over every input" : "interval arithmetic: may be wider than its true range");
  }
  if (values) facts.append("span").text(`value ${format2(values[index])}`);
  if (node.kind === "input") {
    facts.append("span").text(shape.length === 2 ? "a pixel of the image, scaled to [0, 1]" : "an input of the network");
    return;
  }
  const list = terms(g, index, values, weights).filter((t) => t.weight !== 0);
  const act = node.activation === "relu" ? "ReLU" : "";
  const formula = container.append("div").attr("class", "fg-panel-formula");
  formula.append("span").text(`${node.id} = ${act}${act ? "(" : ""}${format2(node.bias)} `);
  list.slice(0, SHOWN_TERMS).forEach((t) => {
    formula.append("span").text(`${signed2(t.weight)}·`);
    formula.append("button").attr("type", "button").attr("class", "fg-panel-source")
      .text(displayName(nodes[t.source], shape)).on("click", () => onGo(t.source));
    formula.append("span").text(" ");
  });
  if (list.length > SHOWN_TERMS) formula.append("span").text(`… ${list.length - SHOWN_TERMS} more terms `);
  if (act) formula.append("span").text(")");
  if (!list.length) formula.append("span").text(node.kind === "output" ? "(no inputs: a constant output)" : "");
  if (values) {
    const table = container.append("table").attr("class", "fg-panel-terms");
    const headRow = table.append("thead").append("tr");
    for (const h of ["source", "weight", "value", "weight × value"]) headRow.append("th").text(h);
    const body = table.append("tbody");
    const bias = body.append("tr");
    bias.append("td").text("bias");
    bias.append("td");
    bias.append("td");
    bias.append("td").text(format2(node.bias));
    for (const t of list.slice(0, SHOWN_TERMS)) {
      const row = body.append("tr");
      row.append("td").append("button").attr("type", "button").attr("class", "fg-panel-source")
        .text(displayName(nodes[t.source], shape)).on("click", () => onGo(t.source));
      row.append("td").text(format2(t.weight));
      row.append("td").text(format2(t.value));
      row.append("td").attr("class", t.contribution > 0 ? "fg-pos-text" : t.contribution < 0 ? "fg-neg-text" : null)
        .text(format2(t.contribution));
    }
    const pre = node.bias + list.reduce((s, t) => s + t.contribution, 0);
    const total = table.append("tfoot").append("tr");
    total.append("td").attr("colspan", 3).text(act ? `sum ${format2(pre)}, after ReLU` : "sum");
    total.append("td").text(format2(values[index]));
  }
}
