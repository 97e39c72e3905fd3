// Mounts every figure on the page: each <div class="fg-mount"> names its kind and its data;
// this script fetches the data (once per URL), merges the figure's options with the URL hash,
// draws it and keeps the hash in step with what the reader chooses.

import { compile, evaluate, ancestors, descendants, firstLayerFilters } from "./graph.js";
import { draw as drawFlowgraph } from "./flowgraph.js";
import { draw as drawFilters } from "./filters.js";
import { draw as drawAltair } from "./altair.js";
import { DEFAULT_OPTIONS, STATE_KEYS } from "./constants.js";
import { hashAnchor, hashHasState, readState, updateOpenLink, writeState } from "./state.js";

// mount.js lives at <site root>/js/mount.js; every data path is relative to the site root, so
// the site works at / and under /<repo>/ alike.
const SITE_ROOT = new URL("../", import.meta.url);

// For tests and the curious: the graph functions the figures use, and the mounted figures.
const figures = new Map(); // figure id -> {kind, figure, state()}
globalThis.flowgraphReport = { compile, evaluate, ancestors, descendants, firstLayerFilters, figures };

// ---- data, fetched once per URL and shared by every figure that names it

const jsonCache = new Map();
function loadJson(path) {
  const url = new URL(path, SITE_ROOT).href;
  if (!jsonCache.has(url)) {
    jsonCache.set(url, fetch(url).then((response) => {
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      return response.json();
    }));
  }
  return jsonCache.get(url);
}

const compiledCache = new Map(); // flowgraph URL -> compile() of it
async function loadGraph(mount) {
  const { flowgraph, traces } = mount.dataset;
  if (!flowgraph) throw new Error("data-flowgraph is missing");
  const [graph, traceData] = await Promise.all([loadJson(flowgraph), traces ? loadJson(traces) : null]);
  if (!compiledCache.has(flowgraph)) compiledCache.set(flowgraph, compile(graph));
  return { graph, traces: traceData, compiled: compiledCache.get(flowgraph) };
}

async function loadSpec(mount) {
  if (!mount.dataset.spec) throw new Error("data-spec is missing");
  const spec = await loadJson(mount.dataset.spec);
  return { spec: structuredClone(spec), baseURL: SITE_ROOT.href };
}

// The figure kinds: data-kind -> how to load its data and draw it.
const KINDS = {
  flowgraph: { load: loadGraph, draw: drawFlowgraph },
  filters: { load: loadGraph, draw: drawFilters },
  altair: { load: loadSpec, draw: drawAltair },
};

// ---- one figure

// Figures draw one at a time with a task boundary in between, so the first figure to get its
// data is interactive (and painted) without waiting for every other figure on the page to draw.
let lastSlot = Promise.resolve();
function drawSlot() {
  lastSlot = lastSlot.then(() => new Promise((resolve) => setTimeout(resolve, 0)));
  return lastSlot;
}

async function mountFigure(mount) {
  const id = mount.dataset.figureId;
  const kind = KINDS[mount.dataset.kind];
  if (!id) throw new Error("data-figure-id is missing");
  if (!kind) {
    throw new Error(`unknown data-kind "${mount.dataset.kind}"; known: ${Object.keys(KINDS).join(", ")}`);
  }
  const standalone = mount.dataset.standalone === "true";
  const figureOptions = JSON.parse(mount.dataset.options || "{}");
  // Keys the figure's options set away from the global defaults: the open link always carries
  // them, since the figure's own page may not share those defaults.
  const explicitKeys = STATE_KEYS.filter((key) => key in figureOptions
    && String(figureOptions[key]) !== DEFAULT_OPTIONS[key]);
  const defaults = { ...DEFAULT_OPTIONS, ...figureOptions };
  const link = mount.closest("figure")?.querySelector("a.fg-open") ?? null;
  const fromHash = () => ({ ...defaults, ...readState(id, standalone) });

  const data = await kind.load(mount);
  await drawSlot();
  let state = fromHash();
  const figure = kind.draw(mount, data, {
    ...state,
    standalone,
    onChange(next) {
      state = { ...state, ...next };
      writeState(id, standalone, next);
      updateOpenLink(link, state, explicitKeys);
    },
  });
  if (figure.ready) await figure.ready;
  if (kind.draw !== drawAltair) updateOpenLink(link, state, explicitKeys);

  // A plain heading anchor ("#results") carries no state: it leaves the figures as they are.
  const onHashChange = () => {
    if (!mount.isConnected) { // the page content was replaced (instant navigation)
      window.removeEventListener("hashchange", onHashChange);
      figure.destroy();
      return;
    }
    if (!hashHasState()) return;
    state = fromHash();
    figure.update(state);
    updateOpenLink(link, state, explicitKeys);
  };
  window.addEventListener("hashchange", onHashChange);
  figures.set(id, { kind: mount.dataset.kind, figure, state: () => ({ ...state }) });
  mount.dataset.ready = "true";
}

function showError(mount, error) {
  const id = mount.dataset.figureId ?? "?";
  console.error(`figure ${id}:`, error);
  mount.replaceChildren();
  const message = document.createElement("p");
  message.className = "fg-error";
  message.setAttribute("role", "alert");
  message.textContent = `This figure (${id}) could not be drawn: ${error?.message ?? error}`;
  mount.appendChild(message);
  mount.dataset.error = "true";
}

// ---- every figure on the page

async function mountAll() {
  const mounts = [...document.querySelectorAll(".fg-mount:not([data-mounted])")];
  await Promise.all(mounts.map((mount) => {
    mount.dataset.mounted = "true";
    return mountFigure(mount).catch((error) => showError(mount, error));
  }));
  // A shared link such as "#fig-flowgraph&flowgraph.sample=t3" names no element as a whole, so
  // the browser does not scroll; scroll to its anchor part once the figures have their height.
  const anchor = hashHasState() ? hashAnchor() : null;
  if (mounts.length && anchor) document.getElementById(anchor)?.scrollIntoView();
}

// mkdocs-material's instant navigation swaps page content without reloading scripts and
// announces each page on its document$ observable; without it, mount once the DOM is ready.
if (globalThis.document$?.subscribe) {
  globalThis.document$.subscribe(() => { mountAll(); });
} else if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => { mountAll(); }, { once: true });
} else {
  mountAll();
}
