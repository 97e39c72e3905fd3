// The row of controls above a figure: labelled selects whose choices come from the data.

// addSelect(controls (d3 selection), className, label, [{value, text}]) -> the select
export function addSelect(controls, className, label, choices) {
  const wrap = controls.append("label");
  wrap.append("span").text(`${label} `);
  const select = wrap.append("select").attr("class", className);
  select.selectAll("option").data(choices).join("option")
    .attr("value", (d) => d.value).text((d) => d.text);
  return select;
}

// graphControls(controls, {outputs, isConstant(d), samples, sampleChoice, image, filters, onChoose})
//   -> {sync(state, custom)}: a graph figure's selects (which output, which sample, the first
// layer as pixels or as filters); onChoose({key: value}) when the reader picks one.
export function graphControls(controls, { outputs, isConstant, samples, sampleChoice, image, filters, onChoose }) {
  const outputSelect = addSelect(controls, "fg-output", "Output", [
    { value: "all", text: "all outputs" },
    ...outputs.map((d) => ({ value: String(d.class), text: `${d.name ?? `class ${d.class}`}${isConstant(d) ? " (constant)" : ""}` })),
  ]);
  const sampleSelect = addSelect(controls, "fg-sample", image ? "Test image" : "Input",
    [{ value: "none", text: "none" }, ...samples.map(sampleChoice)]);
  if (!samples.length) sampleSelect.node().parentNode.style.display = "none"; // nothing to choose
  const inputsSelect = image && filters.length
    ? addSelect(controls, "fg-inputs", "First layer", [{ value: "pixels", text: "pixels and edges" },
      { value: "filters", text: "as filters" }])
    : null;
  for (const [select, key] of [[outputSelect, "output"], [sampleSelect, "sample"], [inputsSelect, "inputs"]]) {
    select?.on("change", () => onChoose({ [key]: select.property("value") }));
  }
  return {
    sync(state, custom) {
      outputSelect.property("value", state.output);
      sampleSelect.property("value", custom ? "none" : state.sample);
      inputsSelect?.property("value", state.inputs);
    },
  };
}
