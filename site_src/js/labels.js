// Label placement in screen space (decluttering): labels keep a readable size whatever the zoom,
// so the ones that would overlap another label, a node or a reserved area are left out until the
// reader zooms in. Plain geometry, no canvas: the painter measures nothing here (labels are
// monospace, charWidth per character) and draws what comes back.

// placeLabels(candidates, {width, height, charWidth, lineHeight, obstacles}) -> [{i, box, lines}]
// candidates, most important first: {i, x, y, r, label: [lines], shortLabel?, labelSide?} with
// x, y the node's centre and r its radius in screen px. obstacles: boxes {x, y, w, h, node?}
// that no label may cover (a node's own disc, node: i, does not count against its label).
// Two passes: every label first gets its first line (the node's name and value), in order;
// then labels grow their further lines (the bounds) where there is room. A label goes on its
// node's side (right; left where labelSide says so) and only a node with a labelSide may move
// to the other side; where the first line does not fit, the shorter shortLabel is tried.
export function placeLabels(candidates, { width, height, charWidth, lineHeight, obstacles = [] }) {
  const placed = new Occupancy();
  for (const box of obstacles) placed.add(box);
  const chosen = [];
  for (const { i, x, y, r, label, shortLabel, labelSide } of candidates) {
    if (x < -50 || y < -20 || x > width || y > height + 20) continue;
    const side = labelSide === "left";
    const sides = labelSide ? [side, !side] : [side];
    const at = (lines, left) => {
      const b = labelBox(x + r + 4, y, lines, charWidth, lineHeight);
      if (left) b.x = x - r - 4 - b.w;
      b.node = i;
      return b;
    };
    const fits = (b) => !placed.hits(b, i) && b.x >= 0 && b.x + b.w <= width;
    const firsts = shortLabel ? [label.slice(0, 1), [shortLabel]] : [label.slice(0, 1)];
    search: for (const first of firsts) {
      for (const left of sides) {
        const b = at(first, left);
        if (fits(b)) {
          placed.add(b);
          chosen.push({ i, label, left, box: b, lines: first, at, fits });
          break search;
        }
      }
    }
  }
  for (const choice of chosen) {
    if (choice.label.length < 2 || choice.lines[0] !== choice.label[0]) continue;
    const b = choice.at(choice.label, choice.left);
    if (choice.fits(b)) {
      placed.add(b);
      choice.box = b;
      choice.lines = choice.label;
    }
  }
  return chosen.map(({ i, box, lines }) => ({ i, box, lines }));
}

// The box of a label whose lines start at x, centred on y.
export function labelBox(x, y, lines, charWidth, lineHeight) {
  const w = Math.max(...lines.map((line) => line.length)) * charWidth;
  const h = lines.length * lineHeight;
  return { x, y: y - h / 2, w, h };
}

// Placed boxes, binned so that each test looks at a few neighbours only.
export class Occupancy {
  constructor(bin = 48) {
    this.bin = bin;
    this.cells = new Map();
  }

  *keys(b) {
    for (let i = Math.floor(b.x / this.bin); i <= Math.floor((b.x + b.w) / this.bin); i++) {
      for (let j = Math.floor(b.y / this.bin); j <= Math.floor((b.y + b.h) / this.bin); j++) yield `${i},${j}`;
    }
  }

  // Whether b overlaps a placed box (but those of node `self`).
  hits(b, self = -1) {
    for (const key of this.keys(b)) {
      for (const o of this.cells.get(key) ?? []) {
        if (o.node === self) continue;
        if (b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h) return true;
      }
    }
    return false;
  }

  add(b) {
    for (const key of this.keys(b)) {
      if (!this.cells.has(key)) this.cells.set(key, []);
      this.cells.get(key).push(b);
    }
  }
}
