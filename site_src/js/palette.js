// The sign palette: the two colours that tell positive from negative in every figure. Blue and
// orange by default, a pair that readers with red-green colour blindness (about one man in
// twelve) tell apart; the classic green and red one click away. A page shows one palette in all
// its figures and keeps it in the URL hash (`palette=green-red`; absent: the default), so a
// copied link opens with the same colours. CSS follows through custom properties on <html>;
// words that name a sign's colour in captions and legends (<span class="fg-sign-pos">blue</span>)
// are rewritten. The figures draw with signColors(name) and offer paletteSwitch.

import { COLORS, DEFAULT_PALETTE, PALETTES } from "./constants.js";

// A known palette's name, or the default's.
export const paletteName = (name) => (Object.hasOwn(PALETTES, name ?? "") ? name : DEFAULT_PALETTE);

// [positive, negative, zero]: the colours the painter indexes edges by (scene.js).
export function signColors(name) {
  const p = PALETTES[paletteName(name)];
  return [p.positive, p.negative, COLORS.zero];
}

// {positive: "blue", negative: "orange"}: the colours' names, for legends and captions.
export const colorNames = (name) => PALETTES[paletteName(name)].names;

// HTML naming a sign's colour, which applyPalette keeps true: signWord("positive", name).
export function signWord(sign, name) {
  return `<span class="fg-sign-${sign === "positive" ? "pos" : "neg"}">${colorNames(name)[sign]}</span>`;
}

// Put a palette on the page: the stylesheet's sign colours and every word that names them.
export function applyPalette(name, root = document) {
  const p = PALETTES[paletteName(name)];
  const html = root.documentElement;
  html.style.setProperty("--fg-positive", p.positive);
  html.style.setProperty("--fg-negative", p.negative);
  html.dataset.palette = paletteName(name);
  for (const element of root.querySelectorAll(".fg-sign-pos")) element.textContent = p.names.positive;
  for (const element of root.querySelectorAll(".fg-sign-neg")) element.textContent = p.names.negative;
}

// paletteSwitch(container (d3 selection), name, onSwitch(next)) -> {set(name)}: a small button
// that offers the other palette; the page (mount.js) switches every figure on it.
export function paletteSwitch(container, name, onSwitch) {
  let current = paletteName(name);
  const other = () => Object.keys(PALETTES).find((key) => key !== current);
  const button = container.append("button").attr("type", "button").attr("class", "fg-button fg-palette-switch")
    .on("click", (event) => {
      event.stopPropagation();
      onSwitch(other());
    });
  const set = (next) => {
    current = paletteName(next);
    const names = PALETTES[other()].names;
    button.text(`use ${names.positive}/${names.negative}`)
      .attr("title", `Show positive and negative in ${names.positive} and ${names.negative} in every figure of the page`
        + (current === DEFAULT_PALETTE ? "" : " (the default: told apart with red-green colour blindness)"))
      .attr("aria-label", `colours: show ${names.positive} and ${names.negative} instead`);
  };
  set(current);
  return { set };
}
