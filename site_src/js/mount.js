// Mounts every figure on the page: each <div class="fg-mount"> names its kind and its data;
// this script fetches the data (once per URL), merges the figure's options with the URL hash,
// draws it and keeps the hash, the caption and the links in step with what the reader chooses.
// The sign palette is the page's: one switch on any figure recolours them all (palette.js).

import { ancestors, compile, descendants, evaluate, evaluatePixels, firstLayerFilters, pixelInputs } from "./graph.js";
import { draw as drawFlowgraph } from "./flowgraph.js";
import { draw as drawFilters } from "./filters.js";
import { draw as drawAltair } from "./altair.js";
import { draw as drawEpisode } from "./episode.js";
import { draw as drawLive } from "./live.js";
import { draw as drawBalance } from "./balance.js";
import { draw as drawTsne } from "./tsne.js";
import { draw as drawStimuli } from "./stimuli.js";
import { draw as drawAttributions } from "./attributions.js";
import { draw as drawCircuit } from "./circuit.js";
import { draw as drawPaths } from "./paths.js";
import { loadTestImages } from "./images.js";
import { DEFAULT_OPTIONS, DEFAULT_PALETTE, STATE_KEYS } from "./constants.js";
import { addDownloads } from "./download.js";
import { applyPalette, paletteName } from "./palette.js";
import { formatHash, hashAnchor, hashHasState, parseHash, readPageKey, readState, updateBackLink, updateOpenLink,
  writePageKey, writeState } from "./state.js";

// mount.js lives at <site root>/js/mount.js; every data path is relative to the site root, so
// the site works at / and under /<repo>/ alike.
const SITE_ROOT = new URL("../", import.meta.url);

// For tests and the curious: the graph functions the figures use, and the mounted figures.
const figures = new Map(); // figure id -> {kind, figure, mount, state(), links()}
globalThis.flowgraphReport = { compile, evaluate, evaluatePixels, pixelInputs, ancestors, descendants,
  firstLayerFilters, figures, palette: () => palette };

// ---- the sign palette, the same for every figure of the page

let palette = DEFAULT_PALETTE;
// write: the reader switched (the hash records it); otherwise the hash changed or the page opened.
function setPalette(name, write = false) {
  palette = paletteName(name);
  if (write) writePageKey("palette", palette === DEFAULT_PALETTE ? "" : palette);
  applyPalette(palette);
  for (const { figure, links, mount } of figures.values()) {
    if (!mount.isConnected) continue; // a page left by instant navigation
    figure.setPalette?.(palette);
    links();
  }
}
window.addEventListener("hashchange", () => {
  if (paletteName(readPageKey("palette")) !== palette) setPalette(readPageKey("palette"));
});

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
  const { flowgraph, traces, witnesses } = mount.dataset;
  if (!flowgraph) throw new Error("data-flowgraph is missing");
  const [graph, traceData] = await Promise.all([loadJson(flowgraph), traces ? loadJson(traces) : null]);
  if (!compiledCache.has(flowgraph)) compiledCache.set(flowgraph, compile(graph));
  // path, load and loadImages: a node panel shows what the report has on the node elsewhere
  // (its strongest stimuli, stimuli.js).
  return { graph, traces: traceData, compiled: compiledCache.get(flowgraph), path: flowgraph, load: loadJson, loadImages,
    witnesses };
}

// Vega is 830 KB: loaded only on pages that have a chart, once.
let vegaLoaded = null;
function loadVega() {
  vegaLoaded ??= ["vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js"].reduce(
    (previous, path) => previous.then(() => new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL(path, SITE_ROOT).href;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`${path} could not be loaded`));
      document.head.appendChild(script);
    })), Promise.resolve());
  return vegaLoaded;
}

async function loadSpec(mount) {
  if (!mount.dataset.spec) throw new Error("data-spec is missing");
  const [spec] = await Promise.all([loadJson(mount.dataset.spec), loadVega()]);
  return { spec: structuredClone(spec), baseURL: SITE_ROOT.href };
}

async function loadEpisode(mount) {
  if (!mount.dataset.episode) throw new Error("data-episode is missing");
  const [graph, episode] = await Promise.all([loadGraph(mount), loadJson(mount.dataset.episode)]);
  return { ...graph, episode };
}

async function loadLive(mount) {
  const { chapter, manifest, images } = mount.dataset;
  if (!chapter || !manifest || !images) throw new Error("data-chapter, data-manifest and data-images are needed");
  const [graph, manifestJson] = await Promise.all([loadGraph(mount), loadJson(manifest)]);
  return { ...graph, manifestJson, chapter, images, siteRoot: SITE_ROOT.href, load: loadJson, loadImages };
}

const imagesCache = new Map(); // test images URL -> loadTestImages() of it
function loadImages(path) {
  const url = new URL(path, SITE_ROOT).href;
  if (!imagesCache.has(url)) imagesCache.set(url, loadTestImages(url));
  return imagesCache.get(url);
}

// Figures that read one document (data-<key>) and the test images (data-images).
function documentAndImages(key) {
  return async (mount) => {
    const { images } = mount.dataset;
    const path = mount.dataset[key];
    if (!path || !images) throw new Error(`data-${key} and data-images are needed`);
    const [doc, testImages] = await Promise.all([loadJson(path), loadImages(images)]);
    return { [key]: doc, images: testImages, load: loadJson };
  };
}

// The figure kinds: data-kind -> how to load its data and draw it.
const KINDS = {
  flowgraph: { load: loadGraph, draw: drawFlowgraph },
  paths: { load: loadGraph, draw: drawPaths },
  filters: { load: loadGraph, draw: drawFilters },
  altair: { load: loadSpec, draw: drawAltair },
  episode: { load: loadEpisode, draw: drawEpisode },
  live: { load: loadLive, draw: drawLive },
  balance: { load: loadEpisode, draw: drawBalance },
  tsne: { load: documentAndImages("embedding"), draw: drawTsne },
  stimuli: { load: documentAndImages("stimuli"), draw: drawStimuli },
  attributions: { load: documentAndImages("attributions"), draw: drawAttributions },
  spade: { load: documentAndImages("circuits"), draw: drawCircuit },
};

// Figures that react to each other (a click on a chart's round opens it in the live figure)
// meet on one dispatch per page, not through globals.
let bus = globalThis.d3?.dispatch("round");

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
  // Keys the figure's options set away from the global defaults: links always carry them, since
  // the page at the other end may not share those defaults.
  const explicitKeys = STATE_KEYS.filter((key) => key in figureOptions
    && String(figureOptions[key]) !== DEFAULT_OPTIONS[key]);
  const defaults = { ...DEFAULT_OPTIONS, ...figureOptions };
  const figureElement = mount.closest("figure");
  const openLink = figureElement?.querySelector("a.fg-open") ?? null;
  const backLink = standalone ? document.querySelector("a.fg-back") : null;
  const fromHash = () => ({ ...defaults, ...readState(id, standalone) });
  const links = (state) => {
    updateOpenLink(openLink, state, explicitKeys);
    updateBackLink(backLink, id, state, explicitKeys);
  };

  const data = await kind.load(mount);
  await drawSlot();
  mount.querySelector(".fg-static")?.remove(); // the no-JavaScript picture
  let state = fromHash();
  const figure = kind.draw(mount, data, {
    ...state,
    standalone,
    bus,
    specPath: mount.dataset.spec,
    palette,
    onPalette: (next) => setPalette(next, true),
    onChange(next) {
      state = { ...state, ...next };
      writeState(id, standalone, next);
      links(state);
    },
  });
  if (figure.ready) await figure.ready;
  if (kind.draw !== drawAltair) links(state);
  const chapter = (mount.dataset.flowgraph ?? mount.dataset.spec ?? mount.dataset.embedding
    ?? mount.dataset.stimuli ?? mount.dataset.attributions ?? "").match(/^data\/([^/]+)\//)?.[1];
  addDownloads(figureElement, figure, chapter ? `${chapter}-${id}` : id);

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
    links(state);
  };
  window.addEventListener("hashchange", onHashChange);
  figures.set(id, { kind: mount.dataset.kind, figure, mount, state: () => ({ ...state }),
    links: () => { if (kind.draw !== drawAltair) links(state); } });
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

// ---- links within the page keep the figures' state: a table-of-contents entry changes only the
// anchor of the hash, not the key=value parts that say what each figure shows.

function keepStateOnAnchorClicks() {
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("a[href^='#']");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
    const target = decodeURIComponent(link.getAttribute("href").slice(1));
    const element = target && document.getElementById(target);
    if (!element || !hashHasState()) return;
    event.preventDefault();
    const parts = [{ anchor: target }, ...parseHash(location.hash).filter((p) => p.anchor === undefined)];
    history.pushState(history.state, "", `${location.pathname}${location.search}${formatHash(parts)}`);
    element.scrollIntoView();
  });
}

// ---- every figure on the page

async function mountAll() {
  bus = globalThis.d3?.dispatch("round");
  setPalette(readPageKey("palette")); // captions name the palette's colours before the figures draw
  const mounts = [...document.querySelectorAll(".fg-mount:not([data-mounted])")];
  // Until the figures have drawn, the browser cannot scroll to an anchor below them correctly.
  const anchor = hashAnchor();
  const scrollToAnchor = () => anchor && document.getElementById(anchor)?.scrollIntoView();
  await Promise.all(mounts.map((mount) => {
    mount.dataset.mounted = "true";
    return mountFigure(mount).catch((error) => showError(mount, error));
  }));
  if (mounts.length && anchor) scrollToAnchor();
}

document.documentElement.classList.add("fg-js"); // styles that only make sense while figures draw
keepStateOnAnchorClicks();
// mkdocs-material's instant navigation swaps page content without reloading scripts and
// announces each page on its document$ observable; without it, mount once the DOM is ready.
if (globalThis.document$?.subscribe) {
  globalThis.document$.subscribe(() => { mountAll(); });
} else if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => { mountAll(); }, { once: true });
} else {
  mountAll();
}
