// A recorded CartPole episode, step by step: the cart and pole as they were, the agent's graph
// evaluated on what it saw (flowgraph.js), its two Q-values and the push it chose. A slider and
// a play button move through the steps; the step lives in the URL hash.

import { cartBesideGraph } from "./cart.js";
import { toCsv } from "./download.js";
import { STEPS_PER_SECOND } from "./cartpole.js";
import { evaluate } from "./graph.js";
import { format2 } from "./constants.js";

// draw(element, {graph, compiled, episode}, {step, onChange}) -> {update, destroy, inspect}
export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  const episode = data.episode;
  const g = data.compiled;
  const last = episode.actions.length; // steps 0..last (the state after the last push too)
  const onChange = options.onChange ?? (() => {});
  let step = clampStep(options.step);
  let timer = null;

  // ---- step: controls
  const root = d3.select(element).append("div").attr("class", "fg-episode");
  const controls = root.append("div").attr("class", "fg-controls");
  const play = controls.append("button").attr("type", "button").attr("class", "fg-button fg-play")
    .text("▶ play").on("click", () => {
      if (!timer) return start();
      stop();
      onChange({ step: String(step) }); // paused here: a copied link opens this step
    });
  const sliderLabel = controls.append("label").attr("class", "fg-slider-label");
  sliderLabel.append("span").text("Step ");
  const slider = sliderLabel.append("input").attr("type", "range").attr("class", "fg-step")
    .attr("min", 0).attr("max", last).attr("step", 1)
    .on("input", () => { stop(); setStep(+slider.property("value"), true); });
  const stepText = controls.append("span").attr("class", "fg-step-text");

  // ---- step: the cart and pole, and the graph beside it
  const { cart, readout, graphFigure, outputs, choose, downloads } = cartBesideGraph(root, data, options);

  function clampStep(s) {
    const n = Number.parseInt(s, 10);
    return Number.isFinite(n) ? Math.max(0, Math.min(last, n)) : 0;
  }

  // ---- step: show one step
  let values = null;
  function render() {
    const [x, , theta] = episode.states[step];
    const observation = episode.observations[step];
    slider.property("value", step);
    values = graphFigure.setInput(observation, { label: `step ${step} of evaluation episode ${episode.seed}` });
    const q = outputs.map((i) => values[i]);
    const choice = choose(values);
    const recorded = step < last ? episode.actions[step] : null;
    cart.show(episode.states[step], step < last ? (choice ? 1 : -1) : 0);
    stepText.text(`${step} of ${last}${step === last ? " (the end)" : ""}`);
    readout.text(step < last
      ? `x = ${format2(x)} m, θ = ${format2((theta * 180) / Math.PI)}°. ${episode.output_names[0]} = ${format2(q[0])}, `
        + `${episode.output_names[1]} = ${format2(q[1])}: push ${choice ? "right" : "left"}`
        + `${recorded === choice ? " (as recorded)" : " (the recording differs!)"}.`
      : `x = ${format2(x)} m, θ = ${format2((theta * 180) / Math.PI)}°. The episode ended after ${last} steps `
        + `with a return of ${episode.return}.`);
  }

  function setStep(s, fromControl) {
    step = clampStep(s);
    render();
    if (fromControl) onChange({ step: String(step) });
  }

  function start() {
    if (step >= last) setStep(0, true);
    play.text("❚❚ pause");
    let previous = performance.now();
    let owed = 0;
    const tick = (now) => {
      owed += ((now - previous) * STEPS_PER_SECOND) / 1000;
      previous = now;
      if (owed >= 1) {
        const n = Math.floor(owed);
        owed -= n;
        setStep(step + n, false);
      }
      if (step >= last) { stop(); onChange({ step: String(step) }); return; }
      timer = requestAnimationFrame(tick);
    };
    timer = requestAnimationFrame(tick);
  }

  function stop() {
    if (timer) cancelAnimationFrame(timer);
    timer = null;
    play.text("▶ play");
  }

  render();

  return {
    exports() {
      return {
        ...downloads(),
        json: () => ({ step, values: Array.from(values ?? []), episode }),
        csv: () => toCsv(episode.states.map((s, t) => ({ step: t, x: s[0], x_dot: s[1], theta: s[2], theta_dot: s[3],
          action: episode.actions[t] ?? "" }))),
      };
    },
    update(next = {}) {
      stop();
      setStep(next.step ?? 0, false);
    },
    setPalette: (name) => graphFigure.setPalette(name),
    inspect() {
      return { step, values: Array.from(values ?? []), observation: episode.observations[step], graph: graphFigure.inspect() };
    },
    // Evaluate the agent's graph on any observation (the tests compare this with numpy).
    evaluateObservation(observation) {
      return Array.from(evaluate(g, observation));
    },
    destroy() {
      stop();
      graphFigure.destroy();
      root.remove();
    },
  };
}
