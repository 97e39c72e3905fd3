// How every zoomable figure zooms, the same everywhere: the page keeps the mouse wheel (a reader
// scrolling past a figure is never caught by it) unless Ctrl or ⌘ is held, or the reader has
// clicked into the figure first; drag pans; two fingers pinch on a touch screen while one finger
// still scrolls the page; + − fit and full-screen buttons; keys + − 0 and f when focused.

import { FLOWGRAPH as C } from "./constants.js";

// attachZoom(stage, {onZoom(transform, event), fit(animate), toolbar}) -> controls. `stage` is
// the element that receives pointer events (position: relative; the hint goes inside); the
// buttons go in `toolbar` (above the figure, so they never cover it), else in the stage.
export function attachZoom(stage, { onZoom, fit, toolbar = null }) {
  const d3 = globalThis.d3;
  let active = false;
  let hintTimer = null;

  const hint = d3.select(stage).append("div").attr("class", "fg-hint").attr("aria-hidden", "true")
    .text(navigator.platform?.startsWith("Mac") ? "Hold ⌘ and scroll to zoom, or click the figure first"
      : "Hold Ctrl and scroll to zoom, or click the figure first");

  const zoom = d3.zoom()
    .scaleExtent(C.zoomExtent)
    .filter((event) => {
      if (event.type === "wheel") {
        if (event.ctrlKey || event.metaKey || active) return true;
        showHint();
        return false; // the page scrolls
      }
      if (event.type === "touchstart") return active || event.touches.length > 1;
      if (event.type === "dblclick") return false;
      return !event.button; // mouse drag pans
    })
    .wheelDelta(wheelDelta)
    .on("zoom", (event) => onZoom(event.transform, event));
  const selection = d3.select(stage).call(zoom);

  // d3's wheel step, times 10 with Ctrl (made for pinch gestures, which send Ctrl and small
  // deltas), turns one Ctrl + wheel notch into a 4× zoom; no notch zooms more than the + button.
  function wheelDelta(event) {
    const delta = -event.deltaY * (event.deltaMode === 1 ? 0.05 : event.deltaMode ? 1 : 0.002) * (event.ctrlKey ? 10 : 1);
    const most = Math.log2(C.zoomStep);
    return Math.max(-most, Math.min(most, delta));
  }

  function showHint() {
    hint.classed("fg-hint-on", true);
    clearTimeout(hintTimer);
    hintTimer = setTimeout(() => hint.classed("fg-hint-on", false), 1400);
  }

  function setActive(on) {
    active = on;
    stage.classList.toggle("fg-active", on);
  }
  const onPointerDown = (event) => setActive(stage.contains(event.target));
  document.addEventListener("pointerdown", onPointerDown, true);
  stage.addEventListener("focusout", (event) => { if (!stage.contains(event.relatedTarget)) setActive(false); });

  // Buttons: zoom in, out, fit, full screen.
  const buttons = d3.select(toolbar ?? stage).append("div").attr("class", "fg-zoom-buttons")
    .attr("role", "toolbar").attr("aria-label", "zoom");
  const button = (icon, title, action) => buttons.append("button").attr("type", "button")
    .attr("class", "fg-zoom-button").attr("title", title).attr("aria-label", title)
    .html(`<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" fill="none" stroke="currentColor" `
      + `stroke-width="1.8" stroke-linecap="round">${icon}</svg>`)
    .on("click", (event) => { event.stopPropagation(); action(); });
  button('<path d="M3 8h10M8 3v10"/>', "Zoom in (+)", () => zoomBy(C.zoomStep));
  button('<path d="M3 8h10"/>', "Zoom out (−)", () => zoomBy(1 / C.zoomStep));
  button('<path d="M6 2H2v4M10 2h4v4M6 14H2v-4M10 14h4v-4M5 8h6"/>', "Fit the figure (0)", () => fit(true));
  const fullButton = button('<path d="M2 6V2h4M14 6V2h-4M2 10v4h4M14 10v4h-4"/>', "Full screen (f)",
    () => toggleFullscreen());

  function zoomBy(factor) {
    selection.transition().duration(C.transitionMs / 2).call(zoom.scaleBy, factor);
  }

  function panBy(dx, dy) {
    selection.call(zoom.translateBy, dx, dy);
  }

  function toggleFullscreen() {
    const figure = stage.closest(".fg-figure") ?? stage;
    if (document.fullscreenElement) document.exitFullscreen?.();
    else if (figure.requestFullscreen) figure.requestFullscreen().catch(() => figure.classList.toggle("fg-fullscreen"));
    else figure.classList.toggle("fg-fullscreen");
  }
  const onFullscreen = () => {
    fullButton.attr("aria-pressed", document.fullscreenElement ? "true" : "false");
    setTimeout(() => fit(false), 50); // the stage changed size
  };
  document.addEventListener("fullscreenchange", onFullscreen);

  // Keys, when the stage (or something in it) has focus.
  function handleKey(event) {
    const key = event.key;
    if (key === "+" || key === "=") zoomBy(C.zoomStep);
    else if (key === "-" || key === "_") zoomBy(1 / C.zoomStep);
    else if (key === "0") fit(true);
    else if (key === "f" || key === "F") toggleFullscreen();
    else if (key === "Escape" && active) setActive(false);
    else return false;
    return true;
  }

  function set(transform, animate) {
    if (animate) selection.transition().duration(C.transitionMs).call(zoom.transform, transform);
    else selection.call(zoom.transform, transform);
  }

  // Centre a point (layout units) at zoom k.
  function centerOn([x, y], k, animate = true) {
    set(d3.zoomIdentity.translate(stage.clientWidth / 2 - k * x, stage.clientHeight / 2 - k * y).scale(k), animate);
  }

  // Bring a point (layout units) to the centre if it is within `margin` px of the edge or beyond.
  function keepInView([x, y], margin = 40) {
    const t = d3.zoomTransform(stage);
    const [sx, sy] = t.apply([x, y]);
    if (sx < margin || sy < margin || sx > stage.clientWidth - margin || sy > stage.clientHeight - margin) {
      centerOn([x, y], t.k);
    }
  }

  return {
    zoom,
    selection,
    zoomBy,
    panBy,
    handleKey,
    transform: () => d3.zoomTransform(stage),
    set,
    centerOn,
    keepInView,
    destroy() {
      document.removeEventListener("pointerdown", onPointerDown, true);
      document.removeEventListener("fullscreenchange", onFullscreen);
      selection.interrupt().on(".zoom", null);
      clearTimeout(hintTimer);
    },
  };
}
