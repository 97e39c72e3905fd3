// View state in the URL hash (docs/schema.md, "View state in the URL").
// The hash is a list of "key=value" parts joined by "&", plus at most one anchor (an element id
// to scroll to). On a chapter page each figure's keys are prefixed with its id
// ("flowgraph.sample=t3") so several figures share one hash, and the anchor names the figure the
// reader changed last, so a shared link opens there; on a figure's own page (data-standalone)
// the keys are plain ("sample=t3"). A few keys belong to the whole page (PAGE_KEYS: the colour
// palette) and are plain on every page.

import { DEFAULT_OPTIONS, PAGE_KEYS, STATE_KEYS } from "./constants.js";

export function parseHash(hash) {
  const parts = [];
  for (const raw of hash.replace(/^#/, "").split("&")) {
    if (!raw) continue;
    const eq = raw.indexOf("=");
    if (eq < 0) parts.push({ anchor: decode(raw) });
    else parts.push({ key: decode(raw.slice(0, eq)), value: decode(raw.slice(eq + 1)) });
  }
  return parts;
}

function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a malformed escape in a hand-edited link: keep it literally
  }
}

export function formatHash(parts) {
  const text = parts
    .map((p) => (p.anchor !== undefined ? encodeURIComponent(p.anchor)
      : `${encodeURIComponent(p.key)}=${encodeURIComponent(p.value)}`))
    .join("&");
  return text ? `#${text}` : "";
}

const prefixOf = (figureId, standalone) => (standalone ? "" : `${figureId}.`);

// The anchor part of the hash (an element id to scroll to), or null.
export function hashAnchor(hash = location.hash) {
  const part = parseHash(hash).find((p) => p.anchor !== undefined);
  return part ? part.anchor : null;
}

// Whether the hash carries any key=value part at all (a plain heading anchor does not).
export function hashHasState(hash = location.hash) {
  return parseHash(hash).some((p) => p.key !== undefined);
}

// readState(figureId, standalone) -> {output?, sample?, inputs?, node?}: only the keys present.
export function readState(figureId, standalone, hash = location.hash) {
  const prefix = prefixOf(figureId, standalone);
  const state = {};
  for (const p of parseHash(hash)) {
    if (p.key === undefined || !p.key.startsWith(prefix)) continue;
    const key = p.key.slice(prefix.length);
    if (STATE_KEYS.includes(key)) state[key] = p.value;
  }
  return state;
}

// writeState: put this figure's whole state in the hash (every key, so a link says exactly what
// it shows), keeping every other figure's keys; on a chapter page the anchor becomes this
// figure's, so the link lands on it. replaceState: no history entry, no scroll, no hashchange.
export function writeState(figureId, standalone, state) {
  const prefix = prefixOf(figureId, standalone);
  const mine = (p) => p.key !== undefined && p.key.startsWith(prefix)
    && STATE_KEYS.includes(p.key.slice(prefix.length));
  let parts = parseHash(location.hash).filter((p) => !mine(p));
  if (!standalone) parts = [{ anchor: `fig-${figureId}` }, ...parts.filter((p) => p.anchor === undefined)];
  for (const key of STATE_KEYS) {
    if (state[key] !== undefined && state[key] !== "") parts.push({ key: prefix + key, value: String(state[key]) });
  }
  const hash = formatHash(parts);
  if (hash !== location.hash) {
    history.replaceState(history.state, "", `${location.pathname}${location.search}${hash}`);
  }
}

// A page-wide key's value in the hash, or "".
export function readPageKey(key, hash = location.hash) {
  return parseHash(hash).find((p) => p.key === key)?.value ?? "";
}

// Set (or, with "", remove) a page-wide key, keeping every other part of the hash.
export function writePageKey(key, value) {
  const parts = parseHash(location.hash).filter((p) => p.key !== key);
  if (value) parts.push({ key, value });
  const hash = formatHash(parts);
  if (hash !== location.hash) {
    history.replaceState(history.state, "", `${location.pathname}${location.search}${hash}`);
  }
}

// The same state as plain keys (for a figure's own page) or prefixed (for the chapter page),
// followed by the page-wide keys this page has now.
function stateParts(state, explicitKeys, prefix) {
  return STATE_KEYS
    .filter((key) => state[key] !== undefined && state[key] !== ""
      && (String(state[key]) !== DEFAULT_OPTIONS[key] || explicitKeys.includes(key)))
    .map((key) => ({ key: prefix + key, value: String(state[key]) }))
    .concat(parseHash(location.hash).filter((p) => PAGE_KEYS.includes(p.key)));
}

// updateOpenLink: the "open on its own page" link carries the current state as plain keys, so
// the figure's own page opens on the same view. Keys equal to the global defaults are left out
// unless the figure's options set them (its own page may default otherwise).
export function updateOpenLink(link, state, explicitKeys = []) {
  if (!link) return;
  if (link.dataset.baseHref === undefined) link.dataset.baseHref = link.getAttribute("href").split("#")[0];
  link.setAttribute("href", link.dataset.baseHref + formatHash(stateParts(state, explicitKeys, "")));
}

// updateBackLink: on a figure's own page, "back to the report" carries the state, prefixed with
// the figure's id on the chapter page, and lands on the figure.
export function updateBackLink(link, figureId, state, explicitKeys = []) {
  if (!link) return;
  if (link.dataset.baseHref === undefined) link.dataset.baseHref = link.getAttribute("href").split("#")[0];
  const parts = [{ anchor: `fig-${figureId}` }, ...stateParts(state, explicitKeys, `${figureId}.`)];
  link.setAttribute("href", link.dataset.baseHref + formatHash(parts));
}
