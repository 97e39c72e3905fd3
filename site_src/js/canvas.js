// What every figure drawn on canvases needs: canvases the size of their stage at the screen's
// pixel density, and painting at most once per animation frame, with changes made together
// (batch) painted once.

// canvasStage(root (d3 selection), label) -> {stage, base, overlay, tooltip}: a focusable stage
// holding a canvas for the picture, one above it for highlights, and a tooltip.
export function canvasStage(root, label) {
  const stage = root.append("div").attr("class", "fg-stage").attr("tabindex", 0).attr("role", "group")
    .attr("aria-roledescription", "interactive graph").attr("aria-label", label);
  const base = stage.append("canvas").attr("class", "fg-canvas").node();
  const overlay = stage.append("canvas").attr("class", "fg-canvas fg-overlay").node();
  const tooltip = stage.append("div").attr("class", "fg-tooltip").attr("role", "tooltip").attr("hidden", "");
  return { stage: stage.node(), base, overlay, tooltip };
}

// sizeCanvases(canvases, width, height): backing stores of width × height CSS px (resized only
// when they differ, which clears them). Contexts then draw in CSS px after
// ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0).
export function sizeCanvases(canvases, width, height) {
  const w = Math.round(width * devicePixelRatio);
  const h = Math.round(height * devicePixelRatio);
  for (const canvas of canvases) {
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
  }
}

// The 2D context of a canvas sized by sizeCanvases, cleared, drawing in CSS px.
export function clearedContext(canvas, width, height) {
  const ctx = canvas.getContext("2d");
  ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

// frameLoop(paintNow) -> {paint(), schedule(), batch(fn), cancel()}: paint() paints now (and
// stands for a frame already asked for); schedule() paints at the next frame; inside batch(fn)
// paints wait for its end and then happen once.
export function frameLoop(paintNow) {
  let frame = 0;
  let held = 0;
  let owed = false;
  function paint() {
    if (held) {
      owed = true;
      return;
    }
    if (frame) {
      cancelAnimationFrame(frame); // this paint is the one the frame was waiting for
      frame = 0;
    }
    paintNow();
  }
  return {
    paint,
    schedule() {
      if (!frame) frame = requestAnimationFrame(() => { frame = 0; paint(); });
    },
    batch(fn) {
      held += 1;
      try {
        return fn();
      } finally {
        held -= 1;
        if (!held && owed) {
          owed = false;
          paint();
        }
      }
    },
    cancel() {
      cancelAnimationFrame(frame);
    },
  };
}
