// A node's exact bounds, made visible: the inputs at which it takes its lowest and its highest
// value over every input in the box (witnesses.json, written by generator/flowgraph/exact.py).
// For an image model they are pictures: the exact most- and least-activating images of the
// neuron, a feature visualisation without approximation.

import { paintDigit, SIDE } from "./images.js";
import { format2 } from "./constants.js";

const SHOWN_INPUTS = 8;

// showWitnesses(panel (d3 selection), {load, witnesses: path}, node, nodes, shape): appends the
// node's two witnesses to its open panel when the graph has them.
export async function showWitnesses(panel, { load, witnesses }, node, nodes, shape) {
  if (!witnesses || node.kind === "input" || node.bounds_kind !== "exact") return;
  const doc = await load(witnesses).catch(() => null);
  const pair = doc?.witnesses?.[node.id];
  if (!pair || panel.attr("data-node") !== node.id) return; // another node was opened meanwhile
  panel.selectAll(".fg-panel-witnesses").remove();
  const image = shape.length === 2 && pair.lo.length === SIDE * SIDE;
  const box = panel.append("div").attr("class", "fg-panel-witnesses");
  box.append("div").attr("class", "fg-panel-stimuli-head").text(image
    ? "The images where it is lowest and highest, exactly, over every possible image (all of [0, 1]⁷⁸⁴):"
    : "The inputs where it is lowest and highest, exactly, over every input in the box:");
  const list = box.append("div").attr("class", image ? "fg-stimuli-list" : "fg-witness-list");
  const names = new Map(nodes.filter((n) => n.kind === "input").map((n) => [n.index, n.name ?? n.id]));
  for (const [end, word] of [["lo", "lowest"], ["hi", "highest"]]) {
    const value = node.bounds[end === "lo" ? 0 : 1];
    const title = `the input where ${node.id} is ${word}: ${format2(value)}`;
    if (image) {
      const item = list.append("div").attr("class", "fg-stimuli-item fg-witness").attr("title", title);
      const pixels = Uint8Array.from(pair[end], (v) => Math.round(255 * v));
      paintDigit(item.append("canvas").attr("class", "fg-tsne-digit").node(), pixels);
      item.append("span").text(`${word} · ${format2(value)}`);
    } else {
      // a state vector: its values by name, on one line after the bound they reach
      const item = list.append("div").attr("class", "fg-witness fg-witness-row").attr("title", title);
      item.append("span").text(`${word} · ${format2(value)}:`);
      const read = [...names.keys()].slice(0, SHOWN_INPUTS);
      item.append("code").text(read.map((k) => `${names.get(k)} = ${format2(pair[end][k])}`).join(", ")
        + (names.size > SHOWN_INPUTS ? ", …" : ""));
    }
  }
}
