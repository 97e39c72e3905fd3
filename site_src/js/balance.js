// Balance the pole yourself: the page runs CartPole live (cartpole.js, gymnasium's dynamics) at
// 50 steps per second with the exported graph as the agent: at each step the graph is evaluated
// on what the agent sees and the cart is pushed towards the larger Q-value. The reader can nudge
// the cart (buttons, or ← → on the figure) and watch the agent recover or fail, and restart from
// any evaluation seed's start state.

import { cartBesideGraph } from "./cart.js";
import { evaluate } from "./graph.js";
import { MAX_STEPS, STEPS_PER_SECOND, ended, observe, step as simulate } from "./cartpole.js";
import { format2 } from "./constants.js";

const NUDGE_FORCE = 10; // newtons on top of the agent's push ...
const NUDGE_STEPS = 5; // ... for this many steps (0.1 s)

export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  const episode = data.episode;
  const g = data.compiled;
  const onChange = options.onChange ?? (() => {});
  const box = data.graph.nodes.filter((d) => d.kind === "input").map((d) => ({ index: d.index, bounds: d.bounds }));
  const starts = episode.starts;
  let seed = starts.some((s) => String(s.seed) === String(options.seed)) ? Number(options.seed) : starts[0].seed;
  let state, steps, nudge, nudgeLeft, timer, status;

  // ---- step: controls
  const root = d3.select(element).append("div").attr("class", "fg-balance");
  const controls = root.append("div").attr("class", "fg-controls");
  const seedSelect = controls.append("label").call((l) => l.append("span").text("Start from seed "))
    .append("select").attr("class", "fg-seed");
  seedSelect.selectAll("option").data(starts).join("option").attr("value", (s) => s.seed).text((s) => s.seed);
  seedSelect.on("change", () => { seed = Number(seedSelect.property("value")); reset(); onChange({ seed: String(seed) }); });
  const run = controls.append("button").attr("type", "button").attr("class", "fg-button fg-run").text("▶ run")
    .on("click", () => (timer ? pause() : start()));
  controls.append("button").attr("type", "button").attr("class", "fg-button fg-reset").text("↺ reset").on("click", () => reset());
  controls.append("button").attr("type", "button").attr("class", "fg-button fg-nudge-left").text("◀ nudge")
    .attr("title", "push the cart left for 0.1 s (← key)").on("click", () => push(-1));
  controls.append("button").attr("type", "button").attr("class", "fg-button fg-nudge-right").text("nudge ▶")
    .attr("title", "push the cart right for 0.1 s (→ key)").on("click", () => push(1));
  const stepText = controls.append("span").attr("class", "fg-step-text");

  // ---- step: the cart and the graph
  const { left, cart, readout, graphFigure, outputs, choose, downloads } = cartBesideGraph(root, data, options);
  left.attr("tabindex", 0).attr("aria-label", "the cart and pole; ← and → nudge the cart, space runs or pauses");

  // ---- step: keys. ← → nudge and space runs wherever the focus is in this figure (its buttons
  // too, so no click on the drawing is needed), except in its graph and its own controls that use
  // them (a select). While the cart runs, ← → also nudge when nothing has the focus and the pointer
  // is over the figure; otherwise the page keeps its arrow keys for scrolling.
  const usesArrows = (target) => target.closest?.("select, input, textarea, [contenteditable], .fg-episode-graph");
  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowLeft") push(-1);
    else if (event.key === "ArrowRight") push(1);
    else if (event.key === " " && event.currentTarget !== document && !event.target.closest?.("button")) (timer ? pause() : start());
    else return;
    event.preventDefault();
  }
  root.on("keydown", (event) => { if (!usesArrows(event.target)) onKey(event); });
  let pointerInside = false;
  root.on("pointerenter", () => { pointerInside = true; }).on("pointerleave", () => { pointerInside = false; });
  const onPageKey = (event) => {
    const idle = !document.activeElement || document.activeElement === document.body;
    if (timer && pointerInside && idle) onKey(event);
  };
  document.addEventListener("keydown", onPageKey);

  // The agent's choice on the state it sees: the graph's argmax.
  function policy(observation) {
    return choose(evaluate(g, observation));
  }

  function reset() {
    pause();
    state = starts.find((s) => s.seed === seed).state.slice();
    steps = 0;
    nudge = 0;
    nudgeLeft = 0;
    status = "ready";
    seedSelect.property("value", seed);
    render(null);
  }

  // One step: what the agent sees, its graph, its push (and the reader's), the simulator.
  function tick() {
    const observation = observe(state);
    const values = graphFigure.setInput(observation, { label: `step ${steps} from seed ${seed}` });
    const action = choose(values);
    const extra = nudgeLeft > 0 ? nudge * NUDGE_FORCE : 0;
    state = simulate(state, action, extra);
    steps += 1;
    if (nudgeLeft > 0) nudgeLeft -= 1;
    if (ended(state)) { status = "fell"; pause(); }
    else if (steps >= MAX_STEPS) { status = "balanced"; pause(); }
    render({ values, action });
  }

  function render(last) {
    cart.show(state, last ? (last.action ? 1 : -1) : 0, nudgeLeft > 0 ? nudge : 0);
    stepText.text(`step ${steps} of ${MAX_STEPS}`);
    const observation = observe(state);
    const outside = box.filter((b) => observation[b.index] < b.bounds[0] || observation[b.index] > b.bounds[1]);
    const lines = [`x = ${format2(state[0])} m, θ = ${format2((state[2] * 180) / Math.PI)}°.`];
    if (last) {
      lines.push(`${episode.output_names[0]} = ${format2(last.values[outputs[0]])}, ${episode.output_names[1]} = `
        + `${format2(last.values[outputs[1]])}: the agent pushed ${last.action ? "right" : "left"}.`);
    } else {
      graphFigure.setInput(observation, { label: `the start state of seed ${seed}` });
    }
    if (status === "fell") lines.push(`The pole fell (or the cart left the track) after ${steps} steps.`);
    if (status === "balanced") lines.push(`Balanced for all ${MAX_STEPS} steps: the maximal return.`);
    if (outside.length) lines.push("This state lies outside the box the graph's bounds were computed for; the values are still exact.");
    readout.selectAll("p").data(lines).join("p").text((line) => line);
  }

  function start() {
    if (status === "fell" || status === "balanced") reset();
    status = "running";
    run.text("❚❚ pause");
    let previous = performance.now();
    let owed = 0;
    const frame = (now) => {
      owed = Math.min(owed + ((now - previous) * STEPS_PER_SECOND) / 1000, 5);
      previous = now;
      while (owed >= 1 && timer) { owed -= 1; tick(); }
      if (timer) timer = requestAnimationFrame(frame);
    };
    timer = requestAnimationFrame(frame);
  }

  function pause() {
    if (timer) cancelAnimationFrame(timer);
    timer = null;
    run.text("▶ run");
  }

  let nudges = 0; // pushes the reader gave (buttons or keys), for inspect()
  function push(direction) {
    nudges += 1;
    nudge = direction;
    nudgeLeft = NUDGE_STEPS;
    if (!timer) render(null);
  }

  reset();

  return {
    exports() {
      return {
        ...downloads(),
        json: () => ({ seed, steps, status, state, graph: graphFigure.exports().json() }),
      };
    },
    setPalette: (name) => graphFigure.setPalette(name),
    update(next = {}) {
      const wanted = starts.some((s) => String(s.seed) === String(next.seed)) ? Number(next.seed) : starts[0].seed;
      if (wanted !== seed) { seed = wanted; reset(); }
    },
    inspect() {
      return { state: state.slice(), steps, status, seed, running: !!timer, nudges };
    },
    // For the tests: the page's simulator and agent, without the animation.
    simulate(start, actions, extra = []) {
      const states = [start.slice()];
      let s = start.slice();
      actions.forEach((a, k) => { s = simulate(s, a, extra[k] ?? 0); states.push(s); });
      return states;
    },
    policy: (observation) => policy(observation),
    observe: (s) => observe(s),
    // One step now, as the animation would take it (the speed benchmark times this).
    tick() { tick(); return steps; },
    destroy() {
      document.removeEventListener("keydown", onPageKey);
      pause();
      graphFigure.destroy();
      root.remove();
    },
  };
}
