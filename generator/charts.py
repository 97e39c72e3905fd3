"""Altair charts, as Vega-Lite specs (drawn in the page by the vendored vega-embed).

Colours: the two splits and the layers use a palette that avoids green and red, which mean
positive and negative everywhere else in the report."""
from __future__ import annotations

import altair as alt

SPLIT_COLORS = ["#1f5fa8", "#9a9a9a"]          # test, validation
LAYER_COLORS = ["#1f5fa8", "#e08a00", "#7b4fa8", "#00838f", "#6d4c41"]
SELECTED = "#111111"


def accuracy_vs_weights(spread: list[dict], selected_round: int, seeds: int) -> dict:
    """Median accuracy over seeds against remaining kernel weights (log scale), with the min–max
    band over seeds; the selected round is ringed and labelled. `spread` rows: round, weights,
    density, epochs, split, median, min, max."""
    rows = [{**row, "shown": row["round"] == selected_round} for row in spread]
    base = alt.Chart(alt.Data(values=rows))
    x = alt.X("weights:Q", scale=alt.Scale(type="log", reverse=True, nice=False, padding=12),
              title="kernel weights remaining (log scale)")
    color = alt.Color("split:N", title=None, scale=alt.Scale(domain=["test", "validation"], range=SPLIT_COLORS),
                      legend=alt.Legend(orient="bottom"))
    y = alt.Y("median:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format=".0%"),
              title=f"accuracy (median of {seeds} seed{'s' if seeds != 1 else ''})")
    hover = alt.selection_point(name="hover_round", fields=["round"], on="pointerover", nearest=True, empty=False)
    band = base.mark_area(opacity=0.18).encode(x=x, y=alt.Y("min:Q"), y2="max:Q", color=color)
    line = base.mark_line().encode(x=x, y=y, color=color)
    tooltip = [alt.Tooltip("round:Q"), alt.Tooltip("split:N"), alt.Tooltip("weights:Q", format=","),
               alt.Tooltip("density:Q", format=".2%"), alt.Tooltip("median:Q", format=".2%"),
               alt.Tooltip("min:Q", format=".2%", title="lowest seed"),
               alt.Tooltip("max:Q", format=".2%", title="highest seed"), alt.Tooltip("epochs:Q")]
    points = base.mark_point(filled=True).encode(
        x=x, y=y, color=color, tooltip=tooltip,
        size=alt.condition(hover, alt.value(140), alt.value(36))).add_params(hover)
    shown = base.transform_filter("datum.shown").mark_point(shape="circle", filled=False, size=320, strokeWidth=2,
                                                            color=SELECTED).encode(x=x, y=y, tooltip=tooltip)
    label = base.transform_filter("datum.shown && datum.split == 'test'").mark_text(
        align="right", dx=-14, dy=-14, fontSize=12, fontWeight="bold", color=SELECTED).encode(
        x=x, y=y, text=alt.Text("label:N")).transform_calculate(label="'round ' + datum.round + ': the graph shown'")
    chart = (band + line + points + shown + label).properties(width="container", height=280)
    return chart.to_dict(validate=True)


def weights_per_layer(rounds: list[dict], layer_names: list[str]) -> dict:
    """Surviving kernel weights of each layer per round, log scale; click the legend to isolate one."""
    rows = [{"round": r["round"], "layer": layer_names[k], "weights": n}
            for r in rounds for k, n in enumerate(r["weights_per_layer"])]
    pick = alt.selection_point(name="pick_layer", fields=["layer"], bind="legend")
    chart = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("round:Q", axis=alt.Axis(tickMinStep=1), title="pruning round"),
        y=alt.Y("weights:Q", scale=alt.Scale(type="log", nice=False, padding=8), title="kernel weights (log scale)"),
        color=alt.Color("layer:N", sort=layer_names, scale=alt.Scale(domain=layer_names, range=LAYER_COLORS[:len(layer_names)]),
                        legend=alt.Legend(orient="bottom", title="layer (click to pick one out)")),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=[alt.Tooltip("round:Q"), alt.Tooltip("layer:N"), alt.Tooltip("weights:Q", format=",")],
    ).add_params(pick).properties(width="container", height=240)
    return chart.to_dict(validate=True)
