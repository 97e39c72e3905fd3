// Hit testing for figures drawn on a canvas: the node under the pointer (a quadtree over the
// visible nodes, never a search through all of them) and the edge passing near it (measured
// along the curve the painter draws). Plain functions: layout positions, a zoom transform
// {k, x, y} and screen points in, indices out. Only nodeQuadtree (d3's quadtree) and
// attachPointer (the stage's events) need d3.

// attachPointer(stage, {find(point) -> index, hover(i, point), leave(), click(i, point, event)}):
// what is under the pointer as it moves (not while a button is down: the reader pans) and where
// it clicks; points are [x, y] px in the stage.
export function attachPointer(stage, { find, hover, leave, click }) {
  const d3 = globalThis.d3;
  d3.select(stage)
    .on("pointermove.hit", (event) => {
      if (event.buttons) return;
      const point = d3.pointer(event, stage);
      hover(find(point), point);
    })
    .on("pointerleave.hit", () => leave())
    .on("click.hit", (event) => {
      const point = d3.pointer(event, stage);
      click(find(point), point, event);
    });
}

// A quadtree of the visible nodes' indices at their layout positions.
export function nodeQuadtree(positions, visible) {
  const shown = [];
  for (let i = 0; i < positions.length; i++) if (visible[i]) shown.push(i);
  return globalThis.d3.quadtree().x((i) => positions[i].x).y((i) => positions[i].y).addAll(shown);
}

// The node nearest the screen point [mx, my], within radiusPx on screen (or minRadius layout
// units, whichever is larger, so a tiny zoom still finds nodes), or -1.
export function nodeAt(tree, t, [mx, my], { radiusPx, minRadius }) {
  const x = (mx - t.x) / t.k;
  const y = (my - t.y) / t.k;
  const found = tree?.find(x, y, Math.max(radiusPx / t.k, minRadius));
  return found === undefined ? -1 : found;
}

// The visible edge nearest the screen point (closer than `tolerance` px), or -1. edges: the
// scene's {sx, sy, tx, ty, visible} in layout units; curved: whether the painter draws them as
// cubics (it does up to a number of visible edges) or as straight lines.
export function edgeAt(edges, t, [mx, my], { curved, tolerance = 6 }) {
  let best = -1;
  let bestDistance = tolerance;
  for (let k = 0; k < edges.visible.length; k++) {
    if (!edges.visible[k]) continue;
    const x0 = edges.sx[k] * t.k + t.x, y0 = edges.sy[k] * t.k + t.y;
    const x1 = edges.tx[k] * t.k + t.x, y1 = edges.ty[k] * t.k + t.y;
    if (mx < Math.min(x0, x1) - tolerance || mx > Math.max(x0, x1) + tolerance) continue;
    const d = curved ? bezierDistance(mx, my, x0, y0, x1, y1) : segmentDistance(mx, my, x0, y0, x1, y1);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

// Of an edge's two ends, the one farther (in x) from where the edge was clicked: a click on an
// edge goes to its other end.
export function farEnd(source, target, positions, x) {
  return Math.abs(x - positions[source].x) < Math.abs(x - positions[target].x) ? target : source;
}

export function segmentDistance(px, py, x0, y0, x1, y1) {
  const dx = x1 - x0, dy = y1 - y0;
  const u = Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(px - (x0 + u * dx), py - (y0 + u * dy));
}

// Distance to the painter's cubic (control points at the middle x), along 12 straight pieces.
export function bezierDistance(px, py, x0, y0, x1, y1) {
  const mx = (x0 + x1) / 2;
  let best = Infinity, ax = x0, ay = y0;
  for (let s = 1; s <= 12; s++) {
    const u = s / 12, v = 1 - u;
    const bx = v * v * v * x0 + 3 * v * v * u * mx + 3 * v * u * u * mx + u * u * u * x1;
    const by = v * v * v * y0 + 3 * v * v * u * y0 + 3 * v * u * u * y1 + u * u * u * y1;
    best = Math.min(best, segmentDistance(px, py, ax, ay, bx, by));
    ax = bx;
    ay = by;
  }
  return best;
}
