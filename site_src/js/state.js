// View state in the URL hash (docs/schema.md, "View state in the URL").
// The hash is a list of "key=value" parts joined by "&". On a report page each figure's keys are
// prefixed with its id ("flowgraph.sample=t3") so several figures share one hash; on a figure's
// own page (data-standalone="true") they are plain ("sample=t3"). Parts without "=" (a heading
// anchor such as "fig-flowgraph") are kept as they are.

import { DEFAULT_OPTIONS, STATE_KEYS } from "./constants.js";

function parseHash(hash) {
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

function formatHash(parts) {
  const text = parts
    .map((p) => (p.anchor !== undefined ? encodeURIComponent(p.anchor)
      : `${encodeURIComponent(p.key)}=${encodeURIComponent(p.value)}`))
    .join("&");
  return text ? `#${text}` : "";
}

const prefixOf = (figureId, standalone) => (standalone ? "" : `${figureId}.`);

// The first anchor part of the hash (an element id to scroll to), or null.
export function hashAnchor(hash = location.hash) {
  const part = parseHash(hash).find((p) => p.anchor !== undefined);
  return part ? part.anchor : null;
}

// Whether the hash carries any key=value part at all (a plain heading anchor does not).
export function hashHasState(hash = location.hash) {
  return parseHash(hash).some((p) => p.key !== undefined);
}

// readState(figureId, standalone) -> {output?, sample?, inputs?}: only the keys present.
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

// writeState: put this figure's whole state in the hash (every key, defaults too, so a link
// says exactly what it shows), keeping every other figure's keys and any anchor.
// replaceState: no new history entry, no scroll jump, no hashchange event.
export function writeState(figureId, standalone, state) {
  const prefix = prefixOf(figureId, standalone);
  const mine = (p) => p.key !== undefined && p.key.startsWith(prefix)
    && STATE_KEYS.includes(p.key.slice(prefix.length));
  const parts = parseHash(location.hash).filter((p) => !mine(p));
  for (const key of STATE_KEYS) {
    if (state[key] !== undefined) parts.push({ key: prefix + key, value: String(state[key]) });
  }
  const hash = formatHash(parts);
  if (hash !== location.hash) {
    history.replaceState(history.state, "", `${location.pathname}${location.search}${hash}`);
  }
}

// updateOpenLink: the figure's "open on its own page" link carries the current state as plain
// keys, so the standalone page opens on the same view. Keys equal to the global defaults are
// left out unless the figure's own options set them (the standalone page may default otherwise).
export function updateOpenLink(link, state, explicitKeys = []) {
  if (!link) return;
  if (link.dataset.baseHref === undefined) link.dataset.baseHref = link.getAttribute("href").split("#")[0];
  const parts = STATE_KEYS
    .filter((key) => state[key] !== undefined
      && (String(state[key]) !== DEFAULT_OPTIONS[key] || explicitKeys.includes(key)))
    .map((key) => ({ key, value: String(state[key]) }));
  link.setAttribute("href", link.dataset.baseHref + formatHash(parts));
}
