"""Altair charts of the pruning rounds, as Vega-Lite specs (rendered by the vendored vega-embed)."""
from __future__ import annotations

import altair as alt


def _rows(rounds: list[dict], selected_round: int) -> list[dict]:
    return [{"round": r["round"], "weights": r["weights"], "density": r["weights"] / rounds[0]["weights"],
             "test accuracy": r["test_accuracy"], "validation accuracy": r["validation_accuracy"],
             "epochs": r["epochs"], "shown": r["round"] == selected_round} for r in rounds]


def accuracy_vs_weights(rounds: list[dict], selected_round: int) -> dict:
    """Accuracy against remaining kernel weights, log scale; hover a point for its round."""
    hover = alt.selection_point(name="hover_round", fields=["round"], on="pointerover", nearest=True, empty=False)
    base = alt.Chart(alt.Data(values=_rows(rounds, selected_round))).transform_fold(
        ["test accuracy", "validation accuracy"], as_=["split", "accuracy"])
    x = alt.X("weights:Q", scale=alt.Scale(type="log", reverse=True, nice=False, padding=12), title="kernel weights remaining (log scale)")
    y = alt.Y("accuracy:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format=".0%"), title="accuracy")
    color = alt.Color("split:N", title=None, scale=alt.Scale(range=["#1f77b4", "#aaaaaa"]),
                      legend=alt.Legend(orient="bottom"))
    lines = base.mark_line().encode(x=x, y=y, color=color)
    points = base.mark_point(filled=True).encode(
        x=x, y=y, color=color,
        size=alt.condition(hover, alt.value(140), alt.value(40)),
        shape=alt.Shape("shown:N", title="shown in the flowgraph", legend=None),
        tooltip=[alt.Tooltip("round:Q"), alt.Tooltip("weights:Q", format=","),
                 alt.Tooltip("density:Q", format=".2%"), alt.Tooltip("split:N"),
                 alt.Tooltip("accuracy:Q", format=".2%"), alt.Tooltip("epochs:Q")],
    ).add_params(hover)
    chart = (lines + points).properties(width="container", height=260)
    return chart.to_dict(validate=True)


def weights_per_layer(rounds: list[dict], layer_names: list[str]) -> dict:
    """Surviving kernel weights of each layer per round, log scale; click the legend to isolate one."""
    rows = [{"round": r["round"], "layer": layer_names[k], "weights": n}
            for r in rounds for k, n in enumerate(r["weights_per_layer"])]
    pick = alt.selection_point(name="pick_layer", fields=["layer"], bind="legend")
    chart = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("round:Q", axis=alt.Axis(tickMinStep=1), title="pruning round"),
        y=alt.Y("weights:Q", scale=alt.Scale(type="log", nice=False, padding=8), title="kernel weights (log scale)"),
        color=alt.Color("layer:N", sort=layer_names, legend=alt.Legend(orient="bottom")),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=["round:Q", "layer:N", alt.Tooltip("weights:Q", format=",")],
    ).add_params(pick).properties(width="container", height=240)
    return chart.to_dict(validate=True)
