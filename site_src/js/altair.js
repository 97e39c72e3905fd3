// An Altair chart: its Vega-Lite spec (data/<chapter>/<figure-id>.vl.json) drawn by vega-embed.
// Charts keep no view state in the URL, so update() has nothing to do.

import { canvasBlob, toCsv } from "./download.js";

// draw(element, {spec, baseURL?}) -> {update, destroy, ready}; ready resolves once drawn.
export function draw(element, data, options = {}) {
  const vegaEmbed = globalThis.vegaEmbed;
  if (!vegaEmbed) throw new Error("vega-embed is not loaded (vendor/vega-embed.min.js)");
  const container = document.createElement("div");
  container.className = "fg-altair";
  element.appendChild(container);
  const embedOptions = { actions: false, renderer: "svg" };
  // Data URLs inside a spec are relative to the site root, as every path in docs/schema.md.
  if (data.baseURL && globalThis.vega) embedOptions.loader = globalThis.vega.loader({ baseURL: data.baseURL });
  let view = null;
  const ready = vegaEmbed(container, data.spec, embedOptions).then((result) => {
    view = result.view;
    // A click on a point that stands for a pruning round opens that round where a figure shows rounds.
    // (Near a point, the item is the hover selection's Voronoi cell, whose datum wraps the point's.)
    view.addEventListener("click", (event, item) => {
      const round = item?.datum?.round ?? item?.datum?.datum?.round;
      if (round !== undefined && options.bus) options.bus.call("round", null, { spec: options.specPath, round });
    });
    return result;
  });
  return {
    ready,
    update() {},
    view: () => view,
    exports() {
      const spec = data.spec;
      const rows = spec.data?.values ?? Object.values(spec.datasets ?? {})[0] ?? [];
      return {
        svg: () => view.toSVG(),
        png: async () => canvasBlob(await view.toCanvas(2)),
        json: () => spec,
        csv: () => toCsv(rows),
      };
    },
    destroy() {
      if (view) view.finalize();
      container.remove();
    },
  };
}
