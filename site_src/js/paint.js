// Paints a flowgraph scene onto a 2D context: the figure's canvas, or the SVG context that the
// downloads use (svgcontext.js), so the picture and its download are one drawing. The scene is
// plain data prepared by scene.js; this module knows no DOM and no d3. Labels are placed by
// labels.js; the highlight of a node's paths is paintHighlight, below.
//
// scene = {
//   nodes: [{x, y, shape: "pixel"|"cell"|"circle"|"square"|"output", r, fill, stroke, dash,
//            label: [lines] | null, priority, bold}],          layout units
//   visible: Uint8Array over nodes,
//   edges: {sx, sy, tx, ty: Float32Array (layout), px: Float32Array (screen width), color: Uint8Array
//           (index into palette), visible: Uint8Array},
//   palette: [css colours],
//   images: [{x, y, w, h, source: canvas, border}],                 layout units
//   grid: {x, y, size, image: canvas | null} | null,
//   titles: [{x, y, text, short, above}],  layout x, y (above: the top of the column; short: the
//           title where columns are close); drawn at titlePx
//   labelPx, titlePx, radiusPx: [min, max], curveUpTo,
// }

import { COLORS, FLOWGRAPH as C } from "./constants.js";
import { reachMask } from "./graph.js";
import { placeLabels } from "./labels.js";

export function paintScene(ctx, scene, t, width, height, { only = null, labels = true } = {}) {
  const sx = (x) => x * t.k + t.x;
  const sy = (y) => y * t.k + t.y;
  const show = (i) => scene.visible[i] && (!only || only[i]);

  // step: the input grid's frame, and the input image faintly beneath the pixels
  if (scene.grid && !only) {
    const { x, y, size, image } = scene.grid;
    ctx.fillStyle = "#ffffff";
    ctx.strokeStyle = "#d0d0d0";
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    ctx.fillRect(sx(x), sy(y), size * t.k, size * t.k);
    ctx.strokeRect(sx(x), sy(y), size * t.k, size * t.k);
    ctx.setLineDash([]);
    if (image) {
      ctx.save();
      ctx.globalAlpha = 0.25;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(image, sx(x), sy(y), size * t.k, size * t.k);
      ctx.restore();
    }
  }

  // step: edges, batched by colour and width so thousands cost a few strokes
  const e = scene.edges;
  const count = e.sx.length;
  let shown = 0;
  for (let k = 0; k < count; k++) if (e.visible[k] && (!only || only[e.source[k]] && only[e.target[k]])) shown++;
  const curved = shown <= scene.curveUpTo;
  const batches = new Map();
  for (let k = 0; k < count; k++) {
    if (!e.visible[k] || (only && !(only[e.source[k]] && only[e.target[k]]))) continue;
    const x0 = sx(e.sx[k]), y0 = sy(e.sy[k]), x1 = sx(e.tx[k]), y1 = sy(e.ty[k]);
    if ((x0 < 0 && x1 < 0) || (x0 > width && x1 > width) || (y0 < 0 && y1 < 0) || (y0 > height && y1 > height)) continue;
    const px = Math.round(e.px[k] * 4) / 4;
    const key = `${e.color[k]}|${px}`;
    let batch = batches.get(key);
    if (!batch) batches.set(key, (batch = { color: scene.palette[e.color[k]], px, list: [] }));
    batch.list.push(x0, y0, x1, y1);
  }
  ctx.lineCap = "round";
  // Many overlapping edges at full strength make a solid sheet: fade them as they get many.
  ctx.globalAlpha = only ? 0.95 : Math.max(0.1, Math.min(0.55, 0.55 * Math.sqrt(800 / Math.max(1, shown))));
  for (const batch of [...batches.values()].sort((a, b) => a.px - b.px)) {
    ctx.strokeStyle = batch.color;
    ctx.lineWidth = batch.px;
    ctx.beginPath();
    const l = batch.list;
    for (let j = 0; j < l.length; j += 4) {
      ctx.moveTo(l[j], l[j + 1]);
      if (curved) {
        const mx = (l[j] + l[j + 2]) / 2;
        ctx.bezierCurveTo(mx, l[j + 1], mx, l[j + 3], l[j + 2], l[j + 3]);
      } else {
        ctx.lineTo(l[j + 2], l[j + 3]);
      }
    }
    ctx.stroke();
  }
  ctx.globalAlpha = 1;

  // step: images (first-layer filters and filter ⊙ input), crisp pixels, with a thin line from
  // an image in the far column to its neuron
  ctx.strokeStyle = "#9a9a9a";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const link of scene.links ?? []) {
    if (!scene.visible[link.node] || (only && !only[link.node])) continue;
    ctx.moveTo(sx(link.x0), sy(link.y));
    ctx.lineTo(sx(link.x1), sy(link.y));
  }
  ctx.stroke();
  ctx.imageSmoothingEnabled = false;
  for (const image of scene.images) {
    if (only && !only[image.node]) continue;
    if (!scene.visible[image.node]) continue;
    const x = sx(image.x), y = sy(image.y), w = image.w * t.k, h = image.h * t.k;
    if (x > width || y > height || x + w < 0 || y + h < 0) continue;
    ctx.drawImage(image.source, x, y, w, h);
    ctx.strokeStyle = "#b8b8b8";
    ctx.lineWidth = 1;
    ctx.strokeRect(x, y, w, h);
  }

  // step: nodes
  const [rMin, rMax] = scene.radiusPx;
  for (let i = 0; i < scene.nodes.length; i++) {
    if (!show(i)) continue;
    const node = scene.nodes[i];
    const x = sx(node.x), y = sy(node.y);
    if (x < -20 || y < -20 || x > width + 20 || y > height + 20) continue;
    if (node.shape === "pixel" || node.shape === "cell") {
      const half = Math.max(0.6, node.r * t.k);
      ctx.fillStyle = node.fill;
      ctx.fillRect(x - half, y - half, 2 * half, 2 * half);
      continue;
    }
    const r = Math.min(rMax, Math.max(rMin, node.r * t.k));
    ctx.beginPath();
    if (node.shape === "square") ctx.rect(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8);
    else ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = node.fill;
    ctx.fill();
    ctx.setLineDash(node.dash ? [3, 2] : []);
    ctx.strokeStyle = node.stroke;
    ctx.lineWidth = node.shape === "output" ? 2.5 : 1.5;
    ctx.stroke();
    ctx.setLineDash([]);
  }

  // step: layer titles and column headers, at a fixed size in screen space
  ctx.textBaseline = "alphabetic";
  ctx.fillStyle = "#555555";
  ctx.font = `600 ${scene.titlePx}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  if (!only) {
    // Zoomed out, the gap in layout units shrinks: keep a title clear of its column's top label.
    const clear = (title) => (title.above === undefined ? Infinity : sy(title.above) - Math.round(scene.labelPx * 1.2) - 4);
    const box = (title, text) => {
      const w = ctx.measureText(text).width;
      return { x: sx(title.x) - w / 2, y: Math.max(scene.titlePx + 4, Math.min(sy(title.y), clear(title))), w, text };
    };
    const clash = (a, b) => a.x < b.x + b.w + 6 && b.x < a.x + a.w + 6 && Math.abs(a.y - b.y) < scene.titlePx;
    // Where two layer titles would touch (a narrow figure), all take their short form.
    const full = scene.titles.map((title) => box(title, title.text));
    const layers = full.filter((_, i) => scene.titles[i].short);
    const crowded = layers.some((a) => layers.some((b) => a !== b && clash(a, b)));
    const taken = [];
    ctx.textAlign = "left";
    scene.titles.forEach((title, i) => {
      const b = crowded && title.short ? box(title, title.short) : full[i];
      if (taken.some((o) => clash(o, b))) return;
      taken.push(b);
      ctx.fillText(b.text, b.x, b.y);
    });
  }

  // step: labels in screen space, never smaller than labelPx: those that would overlap a label
  // drawn before them (lower priority) are left out until the reader zooms in.
  const drawn = [];
  if (labels) {
    const px = scene.labelPx;
    const lineHeight = Math.round(px * 1.2);
    const charWidth = px * 0.61; // monospace
    const radius = (node) => Math.min(rMax, Math.max(rMin, node.r * t.k));
    // Nodes count as occupied: a label never covers another node.
    const obstacles = [...(scene.reserved ?? [])]; // e.g. under the zoom buttons
    for (let i = 0; i < scene.nodes.length; i++) {
      const node = scene.nodes[i];
      if (!show(i) || node.shape === "pixel" || node.shape === "cell") continue;
      const r = radius(node);
      const x = sx(node.x), y = sy(node.y);
      if (x >= -r && y >= -r && x <= width + r && y <= height + r) obstacles.push({ x: x - r, y: y - r, w: 2 * r, h: 2 * r, node: i });
    }
    const order = [];
    for (let i = 0; i < scene.nodes.length; i++) if (show(i) && scene.nodes[i].label) order.push(i);
    order.sort((a, b) => scene.nodes[b].priority - scene.nodes[a].priority || a - b);
    const candidates = order.map((i) => {
      const node = scene.nodes[i];
      return { i, x: sx(node.x), y: sy(node.y), r: radius(node), label: node.label, shortLabel: node.shortLabel,
        labelSide: node.labelSide };
    });
    ctx.font = `${px}px ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace`;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    for (const { i, box, lines } of placeLabels(candidates, { width, height, charWidth, lineHeight, obstacles })) {
      const node = scene.nodes[i];
      // Every line's white halo first, then every line's text: a halo drawn after the line above
      // would cover that line's descenders (the underscore of "h1_8" vanished).
      for (const pass of ["halo", "text"]) {
        lines.forEach((line, j) => {
          const ly = box.y + lineHeight * (j + 0.5);
          ctx.font = `${node.bold && j === 0 ? "700 " : ""}${px}px ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace`;
          if (pass === "halo") {
            ctx.strokeStyle = "#ffffff";
            ctx.lineWidth = 3;
            ctx.strokeText(line, box.x, ly);
          } else {
            ctx.fillStyle = node.labelColor ?? "#222222";
            ctx.fillText(line, box.x, ly);
          }
        });
      }
      drawn.push({ node: i, px, x: box.x, y: box.y, lines: lines.length, text: lines.join(" ") });
    }
  }
  return { labels: drawn, curved };
}

// The highlight, on the overlay canvas: what the `center` node depends on and what depends on it
// stays, the rest fades; pinned nodes get a dot, the selected node a ring, the focused one (the
// keyboard's) a dashed ring. Returns the lit nodes (a mask), or null where nothing is lit.
export function paintHighlight(ctx, scene, t, width, height, { g, positions, center, pins, selected, focused }) {
  const visible = scene.visible;
  let lit = null;
  if (center >= 0 && visible[center]) {
    const up = reachMask(g, center);
    const down = reachMask(g, center, true);
    lit = new Uint8Array(g.n);
    for (let i = 0; i < g.n; i++) lit[i] = up[i] | down[i];
    ctx.fillStyle = COLORS.dim;
    ctx.fillRect(0, 0, width, height);
    // Edges above the node run into it, edges below run out of it: both ends on one side.
    const edgeScene = { ...scene, edges: { ...scene.edges, visible: scene.edges.visible.map((v, k) => {
      const s = g.edgeSource[k], e = g.edgeTarget[k];
      return v && ((up[s] && up[e]) || (down[s] && down[e])) ? 1 : 0;
    }) } };
    paintScene(ctx, edgeScene, t, width, height, { only: lit });
  }
  const radius = Math.min(C.nodeRadiusPx[1], Math.max(C.nodeRadiusPx[0], C.nodeRadius * t.k));
  for (const i of pins) {
    if (!visible[i]) continue;
    const p = positions[i];
    const r = radius + 3;
    ctx.fillStyle = COLORS.pin;
    ctx.beginPath();
    ctx.arc(p.x * t.k + t.x + r, p.y * t.k + t.y - r, 3.5, 0, 2 * Math.PI);
    ctx.fill();
  }
  for (const [i, color] of [[selected, "#111"], [focused, COLORS.focus]]) {
    if (i < 0 || !visible[i]) continue;
    const p = positions[i];
    ctx.beginPath();
    ctx.arc(p.x * t.k + t.x, p.y * t.k + t.y, radius + 5, 0, 2 * Math.PI);
    ctx.strokeStyle = color;
    ctx.lineWidth = 2.5;
    ctx.setLineDash(i === focused ? [4, 3] : []);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  return lit;
}
