"""Altair charts, as Vega-Lite specs (drawn in the page by the vendored vega-embed).

Colours: the charts encode splits and layers, never signs, so they use neither of the sign
palettes' hues (blue/orange by default, green/red on the reader's switch): purple, teal, brown
and greys, which also differ in lightness for colour-blind readers."""
from __future__ import annotations

import altair as alt

SPLIT_COLORS = ["#5e3c99", "#9a9a9a"]          # test, validation
LAYER_COLORS = ["#5e3c99", "#00838f", "#8c510a", "#555555", "#b2abd2"]
SELECTED = "#111111"
TEXT_PX = 11   # the report's smallest readable text, for axis and legend labels alike


def spec(chart) -> dict:
    """The chart as a validated Vega-Lite spec, its text no smaller than the figures' labels."""
    return (chart.configure_axis(labelFontSize=TEXT_PX, titleFontSize=TEXT_PX)
            .configure_legend(labelFontSize=TEXT_PX, titleFontSize=TEXT_PX).to_dict(validate=True))


def accuracy_vs_weights(spread: list[dict], selected_round: int, seeds: int,
                        weights_title: str = "kernel weights remaining") -> dict:
    """Median accuracy over seeds against remaining kernel weights (log scale), with the min–max
    band over seeds; the selected round is ringed and labelled. `spread` rows: round, weights,
    density, epochs, split, median, min, max."""
    rows = [{**row, "shown": row["round"] == selected_round} for row in spread]
    base = alt.Chart(alt.Data(values=rows))
    x = alt.X("weights:Q", scale=alt.Scale(type="log", reverse=True, nice=False, padding=12),
              axis=alt.Axis(labelOverlap="greedy", labelSeparation=6), title=f"{weights_title} (log scale)")
    color = alt.Color("split:N", title=None, scale=alt.Scale(domain=["test", "validation"], range=SPLIT_COLORS),
                      legend=alt.Legend(orient="bottom"))
    y = alt.Y("median:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format=".1%"),
              title=f"accuracy (median of {seeds} seed{'s' if seeds != 1 else ''})")
    hover = alt.selection_point(name="hover_round", fields=["round"], on="pointerover", nearest=True, empty=False)
    band = base.mark_area(opacity=0.18).encode(x=x, y=alt.Y("min:Q"), y2="max:Q", color=color)
    line = base.mark_line().encode(x=x, y=y, color=color)
    # format="" on the nominal field: without it Vega-Lite reads it from the hover's Voronoi cell
    # (nearest=True) instead of the point under it, and the tooltip says "split undefined".
    tooltip = [alt.Tooltip("round:Q"), alt.Tooltip("split:N", format=""), alt.Tooltip("weights:Q", format=","),
               alt.Tooltip("density:Q", format=".2%"), alt.Tooltip("median:Q", format=".2%"),
               alt.Tooltip("min:Q", format=".2%", title="lowest seed"),
               alt.Tooltip("max:Q", format=".2%", title="highest seed"), alt.Tooltip("epochs:Q")]
    points = base.mark_point(filled=True).encode(
        x=x, y=y, color=color, tooltip=tooltip,
        size=alt.condition(hover, alt.value(140), alt.value(36))).add_params(hover)
    shown = base.transform_filter("datum.shown").mark_point(shape="circle", filled=False, size=320, strokeWidth=2,
                                                            color=SELECTED).encode(x=x, y=y, tooltip=tooltip)
    label = base.transform_filter("datum.shown && datum.split == 'test'").mark_text(
        align="right", dx=-12, dy=-24, fontSize=12, fontWeight="bold", color=SELECTED).encode(
        x=x, y=y, text=alt.Text("label:N")).transform_calculate(label="'round ' + datum.round + ': the graph shown'")
    chart = (band + line + points + shown + label).properties(width="container", height=280)
    return spec(chart)


def weights_per_layer(rounds: list[dict], layer_names: list[str]) -> dict:
    """Surviving kernel weights of each layer per round, log scale; click the legend to isolate one."""
    rows = [{"round": r["round"], "layer": layer_names[k], "weights": n}
            for r in rounds for k, n in enumerate(r["weights_per_layer"])]
    pick = alt.selection_point(name="pick_layer", fields=["layer"], bind="legend")
    chart = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("round:Q", axis=alt.Axis(tickMinStep=1), title="pruning round"),
        y=alt.Y("weights:Q", scale=alt.Scale(type="log", nice=False, padding=8), title="kernel weights (log scale)"),
        color=alt.Color("layer:N", sort=layer_names, scale=alt.Scale(domain=layer_names, range=LAYER_COLORS[:len(layer_names)]),
                        # two columns: three long names in one row are clipped on a phone
                        legend=alt.Legend(orient="bottom", title="layer (click to pick one out)", columns=2)),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=[alt.Tooltip("round:Q"), alt.Tooltip("layer:N"), alt.Tooltip("weights:Q", format=",")],
    ).add_params(pick).properties(width="container", height=240)
    return spec(chart)


def weights_and_edges(rows: list[dict]) -> dict:
    """Per layer: kernel weights kept, multiplies in the unrolled graph, and edges left after
    simplification (log scale). rows: layer, what, count."""
    order = ["kernel weights kept", "edges in the unrolled graph", "edges after simplification"]
    rows = [row for row in rows if row["count"] > 0]     # a log scale has no place for 0
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        y=alt.Y("layer:N", sort=None, title=None),
        x=alt.X("count:Q", scale=alt.Scale(type="log", domainMin=1), title="count (log scale)"),
        x2=alt.datum(1),      # bars from 1: a log scale has no 0 to start from
        yOffset=alt.YOffset("what:N", sort=order),
        color=alt.Color("what:N", sort=order, scale=alt.Scale(domain=order, range=LAYER_COLORS[:3]),
                        legend=alt.Legend(orient="bottom", title=None, columns=1)),
        tooltip=[alt.Tooltip("layer:N"), alt.Tooltip("what:N"), alt.Tooltip("count:Q", format=",")],
    ).properties(width="container", height=16 * len(rows) + 24)
    return spec(chart)


def subgraph_sizes(rows: list[dict], reference: dict | None = None) -> dict:
    """Vertices in each output's subgraph (bars, the largest marked), with an optional reference
    value as a rule (e.g. the post's). rows: class, vertices, edges, largest."""
    base = alt.Chart(alt.Data(values=rows))
    bars = base.mark_bar().encode(
        x=alt.X("class:O", title="output (class)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("vertices:Q", title="vertices in the output's subgraph"),
        color=alt.condition("datum.largest", alt.value(SELECTED), alt.value(SPLIT_COLORS[0])),
        tooltip=[alt.Tooltip("class:O", title="output"), alt.Tooltip("vertices:Q", format=","),
                 alt.Tooltip("edges:Q", format=",")])
    layers = [bars]
    if reference:
        ref = alt.Chart(alt.Data(values=[reference]))
        layers.append(ref.mark_rule(strokeDash=[5, 4], color=LAYER_COLORS[1], strokeWidth=2).encode(y="vertices:Q"))
        layers.append(ref.mark_text(align="left", baseline="bottom", dx=4, dy=-3, color=LAYER_COLORS[1], fontSize=12)
                      .encode(y="vertices:Q", x=alt.value(0), text="label:N"))
    return spec(alt.layer(*layers).properties(width="container", height=240))


def return_vs_weights(rounds: list[dict], max_return: int) -> dict:
    """Mean validation return of every pruning candidate against its weights (log scale, fewer to
    the right): filled points were kept, hollow ones rejected. rows: round, weights, share,
    validation_mean_return, accepted. A candidate whose distillation left no weight at all has no
    place on a log axis and is left out (the chapter's text counts them)."""
    rows = [{"round": r["round"], "weights": r["weights"], "share": r["share"],
             "mean return": r["validation_mean_return"], "outcome": "kept" if r["accepted"] else "rejected"}
            for r in rounds if r["weights"] > 0]
    base = alt.Chart(alt.Data(values=rows))
    x = alt.X("weights:Q", scale=alt.Scale(type="log", reverse=True, nice=False, padding=12),
              axis=alt.Axis(labelOverlap="greedy", labelSeparation=6), title="kernel weights (log scale)")
    y = alt.Y("mean return:Q", scale=alt.Scale(domain=[0, max_return * 1.04]), title="mean return on validation")
    line = base.transform_filter("datum.outcome == 'kept'").mark_line(color=SPLIT_COLORS[0]).encode(x=x, y=y)
    points = base.mark_point(size=60, strokeWidth=1.5).encode(
        x=x, y=y,
        fill=alt.condition("datum.outcome == 'kept'", alt.value(SPLIT_COLORS[0]), alt.value("#ffffff")),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=["kept", "rejected"], range=[SPLIT_COLORS[0], LAYER_COLORS[1]]),
                        legend=alt.Legend(orient="bottom", title=None)),
        tooltip=[alt.Tooltip("round:Q"), alt.Tooltip("weights:Q", format=","), alt.Tooltip("share:Q", format=".0%",
                 title="share removed"), alt.Tooltip("mean return:Q", format=".1f"), alt.Tooltip("outcome:N")])
    rule = alt.Chart(alt.Data(values=[{"max": max_return}])).mark_rule(strokeDash=[4, 4], color="#888").encode(y="max:Q")
    return spec((rule + line + points).properties(width="container", height=260))


def knn_by_layer(knn: dict, layer_names: list[str], layer_ids: list[str], networks: dict[str, str]) -> dict:
    """k-NN accuracy per layer, one line per network (colour) and space (solid: the layer's own
    space; dashed: its 2-D map). knn: {network: {layer id: {"map", "space"}}}."""
    kinds = {"space": "the layer's own space", "map": "its 2-D t-SNE map"}
    rows = [{"layer": name, "order": k, "network": networks[network], "where": kinds[kind], "accuracy": value}
            for network, layers in knn.items() for k, (name, lid) in enumerate(zip(layer_names, layer_ids))
            for kind, value in layers[lid].items()]
    names = list(networks.values())
    chart = alt.Chart(alt.Data(values=rows)).mark_line(point=alt.OverlayMarkDef(size=50)).encode(
        x=alt.X("layer:N", sort=layer_names, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("accuracy:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format=".0%"), title="k-NN accuracy"),
        color=alt.Color("network:N", sort=names, scale=alt.Scale(domain=names, range=LAYER_COLORS[:len(names)]),
                        legend=alt.Legend(orient="bottom", title=None)),
        strokeDash=alt.StrokeDash("where:N", sort=list(kinds.values()),
                                  scale=alt.Scale(domain=list(kinds.values()), range=[[1, 0], [5, 4]]),
                                  # a line per kind (not the points'), above the chart: two legends
                                  # side by side below it do not fit a phone
                                  legend=alt.Legend(orient="top", title=None, symbolType="stroke",
                                                    symbolStrokeWidth=2, symbolSize=300)),
        detail="where:N",
        tooltip=[alt.Tooltip("network:N"), alt.Tooltip("layer:N"), alt.Tooltip("where:N"),
                 alt.Tooltip("accuracy:Q", format=".1%")],
    ).properties(width="container", height=240)
    return spec(chart)


def circuit_sizes(rows: list[dict], ticket_edges: int) -> dict:
    """A histogram of the edges of per-sample circuits on an axis from 0 past the global ticket's
    (the rule), so the two sizes are seen to scale. rows: edges. The bins are counted here, so the
    chart's rows are what its tooltip names."""
    top = max(ticket_edges, max(row["edges"] for row in rows)) * 1.08
    step = max(1, round(top / 48))
    counts: dict[int, int] = {}
    for row in rows:
        counts[row["edges"] // step] = counts.get(row["edges"] // step, 0) + 1
    bins = [{"from": k * step, "to": (k + 1) * step, "images": n} for k, n in sorted(counts.items())]
    scale = alt.Scale(domain=[0, top])
    bars = alt.Chart(alt.Data(values=bins)).mark_bar(color=SPLIT_COLORS[0]).encode(
        x=alt.X("from:Q", scale=scale, title="edges in the circuit's exact flowgraph"), x2="to:Q",
        y=alt.Y("images:Q", title="test images"), y2=alt.datum(0),   # bars from 0, not ticks at the count
        tooltip=[alt.Tooltip("from:Q", title="edges from"), alt.Tooltip("to:Q", title="to (not included)"),
                 alt.Tooltip("images:Q")])
    ref = alt.Chart(alt.Data(values=[{"edges": ticket_edges, "label": f"global ticket: {ticket_edges:,}"}]))
    rule = ref.mark_rule(strokeDash=[5, 4], color=LAYER_COLORS[1], strokeWidth=2).encode(x=alt.X("edges:Q", scale=scale))
    text = ref.mark_text(align="right", baseline="top", dx=-4, dy=4, color=LAYER_COLORS[1], fontSize=12).encode(
        x=alt.X("edges:Q", scale=scale), y=alt.value(0), text="label:N")
    return spec(alt.layer(bars, rule, text).properties(width="container", height=220))


def trigger_auc(rows: list[dict], methods: list[str]) -> dict:
    """Trigger-detection ROC AUC per attribution method, on the dense network and on the SPADE
    circuits: one point per seed (mean over its images), a tick at the mean over seeds.
    rows: method, network, seed, auc."""
    networks = ["dense network", "SPADE circuit"]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("method:N", sort=methods, title=None),
        yOffset=alt.YOffset("network:N", sort=networks),
        color=alt.Color("network:N", sort=networks, scale=alt.Scale(domain=networks, range=LAYER_COLORS[:2]),
                        legend=alt.Legend(orient="top", title=None)))
    x = alt.X("auc:Q", scale=alt.Scale(domain=[0.4, 1]), title="ROC AUC of |attribution| for trigger pixels")
    points = base.mark_point(filled=True, size=45, opacity=0.8).encode(
        x=x, tooltip=[alt.Tooltip("method:N"), alt.Tooltip("network:N"), alt.Tooltip("seed:N"),
                      alt.Tooltip("auc:Q", format=".3f")])
    means = base.mark_tick(thickness=2, size=14).encode(
        x=alt.X("mean(auc):Q", scale=alt.Scale(domain=[0.4, 1])),
        tooltip=[alt.Tooltip("method:N"), alt.Tooltip("network:N"), alt.Tooltip("mean(auc):Q", format=".3f", title="mean over seeds")])
    chance = alt.Chart(alt.Data(values=[{"auc": 0.5}])).mark_rule(strokeDash=[4, 3], color="#777").encode(x=alt.X("auc:Q"))
    return spec(alt.layer(chance, means, points).properties(width="container", height=40 * len(methods)))
