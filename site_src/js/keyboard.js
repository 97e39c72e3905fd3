// The keyboard on a graph figure: arrows walk along the graph, Enter (or space) opens the node
// walked to, Escape closes it, Shift + arrows pan, and the zoom keys (zoom.js) zoom. The walk is
// a plain function of the compiled graph (graph.js) and what is shown; the figure passes its
// own callbacks for what a step, an open and a close do.

// neighbour(g, i, key, {visible, values, nodes, positions, start}) -> node index or -1.
// Right: the strongest edge out of the node; left: the strongest edge into it (by weight, or by
// what the edge carries when values are given); up and down: the next visible node above or
// below in the same layer. From nowhere (i < 0) the walk starts at `start`.
export function neighbour(g, i, key, { visible, values = null, nodes, positions, start = -1 }) {
  if (i < 0) return start;
  if (key === "ArrowRight" || key === "ArrowLeft") {
    let best = -1, bestWeight = -1;
    const consider = (j, w) => {
      if (visible[j] && Math.abs(w) > bestWeight) {
        best = j;
        bestWeight = Math.abs(w);
      }
    };
    if (key === "ArrowRight") {
      for (let j = g.outOffsets[i]; j < g.outOffsets[i + 1]; j++) {
        const k = g.outEdges[j];
        consider(g.edgeTarget[k], values ? g.edgeWeight[k] * values[i] : g.edgeWeight[k]);
      }
    } else {
      for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) {
        consider(g.sources[j], values ? g.weights[j] * values[g.sources[j]] : g.weights[j]);
      }
    }
    return best;
  }
  const column = [];
  for (let j = 0; j < g.n; j++) if (visible[j] && nodes[j].layer === nodes[i].layer) column.push(j);
  column.sort((a, b) => positions[a].y - positions[b].y || positions[a].x - positions[b].x);
  const at = column.indexOf(i);
  return column[Math.max(0, Math.min(column.length - 1, at + (key === "ArrowDown" ? 1 : -1)))] ?? -1;
}

// How far Shift + an arrow pans, in layout units at zoom k: [dx, dy] for zoom.panBy.
export function panStep(key, k, px = 60) {
  return [key === "ArrowLeft" ? px / k : key === "ArrowRight" ? -px / k : 0,
    key === "ArrowUp" ? px / k : key === "ArrowDown" ? -px / k : 0];
}

// graphKeys({zoom, scale(), walk(key), open(), close()}) -> a keydown handler for the stage.
export function graphKeys({ zoom, scale, walk, open, close }) {
  return (event) => {
    if (zoom.handleKey(event)) {
      event.preventDefault();
      return;
    }
    const key = event.key;
    if (event.shiftKey && key.startsWith("Arrow")) {
      zoom.panBy(...panStep(key, scale()));
      event.preventDefault();
    } else if (key.startsWith("Arrow")) {
      walk(key);
      event.preventDefault();
    } else if (key === "Enter" || key === " ") {
      open();
      event.preventDefault();
    } else if (key === "Escape") {
      close();
    }
  };
}
