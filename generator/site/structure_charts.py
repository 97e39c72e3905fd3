"""Altair charts of the structure-and-compression chapters (Deep Compression, DSD, sparse
training, convergent learning, clusterability, the closing comparison), drawn in the same style
as generator/site/charts.py's and with its colours. A module of their own: a chart here changes
no cache key of the chapters that use the others."""
from __future__ import annotations

import altair as alt

from generator.site.charts import LAYER_COLORS, SPLIT_COLORS, TEXT_PX, spec


def stage_accuracy(rows: list[dict], stages: list[str]) -> dict:
    """Test accuracy after each stage of a pipeline: a point per seed, a line through the medians.
    rows: stage, seed, accuracy."""
    x = alt.X("stage:N", sort=stages, title=None, axis=alt.Axis(labelAngle=0, labelLimit=150,
                                                               labelExpr="split(datum.label, ', ')"))
    y = alt.Y("accuracy:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format=".1%"), title="test accuracy")
    base = alt.Chart(alt.Data(values=rows))
    points = base.mark_point(filled=True, size=45, opacity=0.75, color=LAYER_COLORS[1]).encode(
        x=x, y=y, tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("seed:N"), alt.Tooltip("accuracy:Q", format=".2%")])
    line = base.mark_line(color=SPLIT_COLORS[0], point=alt.OverlayMarkDef(color=SPLIT_COLORS[0], size=60)).encode(
        x=x, y=alt.Y("median(accuracy):Q"),
        tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("median(accuracy):Q", format=".2%", title="median over seeds")])
    return spec(alt.layer(line, points).properties(width="container", height=240))


def centroid_histograms(rows: dict) -> dict:
    """Per layer, a histogram of the kept weights and the shared values before (dashed) and after
    (solid) retraining. rows: {"bins": [layer, from, to, weights], "centroids": [layer, value, when]}
    (the bins are counted by the caller, so the chart's rows are what its tooltip names)."""
    hist = alt.Chart(alt.Data(values=rows["bins"])).mark_bar(color="#bbbbbb").encode(
        x=alt.X("from:Q", title="weight"), x2="to:Q", y=alt.Y("weights:Q", title="weights"), y2=alt.datum(0),
        tooltip=[alt.Tooltip("from:Q", format=".3f", title="weights from"), alt.Tooltip("to:Q", format=".3f", title="to"),
                 alt.Tooltip("weights:Q")])
    when = alt.Color("when:N", scale=alt.Scale(domain=["k-means", "retrained"], range=[LAYER_COLORS[1], SPLIT_COLORS[0]]),
                     legend=alt.Legend(orient="top", title="shared values"))
    rules = alt.Chart(alt.Data(values=rows["centroids"])).mark_rule(strokeWidth=1.2).encode(
        x=alt.X("value:Q"), color=when,
        strokeDash=alt.StrokeDash("when:N", scale=alt.Scale(domain=["k-means", "retrained"], range=[[4, 3], [1, 0]]),
                                  legend=alt.Legend(orient="top", title="shared values")),
        tooltip=[alt.Tooltip("when:N"), alt.Tooltip("value:Q", format=".4f")])
    layers = sorted({r["layer"] for r in rows["bins"]})
    # one layer at a time, picked by a radio under the chart: a stack of three would need a fixed
    # width (Vega-Lite's container width is for single views), too wide for a phone or too narrow here
    pick = alt.param(name="layer_shown", value=layers[0], bind=alt.binding_radio(options=layers, name="layer: "))
    shown = "datum.layer == layer_shown"
    chart = alt.layer(hist.transform_filter(shown), rules.transform_filter(shown)).add_params(pick)
    return spec(chart.properties(width="container", height=220))


def dsd_curves(rows: list[dict], sparse: tuple[int, int]) -> dict:
    """Test accuracy per epoch of both arms (median line, min-max band over seeds), the sparse
    phase shaded. rows: arm, seed, epoch, test_accuracy."""
    arms = ["baseline", "dsd"]
    names = {"baseline": "trained on, dense", "dsd": "DSD"}
    rows = [{**r, "arm": names[r["arm"]]} for r in rows]
    color = alt.Color("arm:N", sort=[names[a] for a in arms],
                      scale=alt.Scale(domain=[names[a] for a in arms], range=[LAYER_COLORS[1], SPLIT_COLORS[0]]),
                      legend=alt.Legend(orient="top", title=None))
    x = alt.X("epoch:Q", title="epoch", scale=alt.Scale(zero=False), axis=alt.Axis(tickMinStep=1, format="d"))
    base = alt.Chart(alt.Data(values=rows))
    band = base.mark_area(opacity=0.18).encode(x=x, y=alt.Y("min(test_accuracy):Q"), y2="max(test_accuracy):Q", color=color)
    line = base.mark_line(point=alt.OverlayMarkDef(size=40)).encode(
        x=x, y=alt.Y("median(test_accuracy):Q", scale=alt.Scale(zero=False), axis=alt.Axis(format=".1%"),
                     title="test accuracy (median over seeds)"), color=color,
        tooltip=[alt.Tooltip("arm:N"), alt.Tooltip("epoch:Q"), alt.Tooltip("median(test_accuracy):Q", format=".2%", title="median"),
                 alt.Tooltip("min(test_accuracy):Q", format=".2%", title="lowest seed"),
                 alt.Tooltip("max(test_accuracy):Q", format=".2%", title="highest seed")])
    phase = alt.Chart(alt.Data(values=[{"from": sparse[0], "to": sparse[1], "label": "sparse phase"}]))
    shade = phase.mark_rect(color="#999999", opacity=0.12).encode(x="from:Q", x2="to:Q")
    label = phase.mark_text(align="left", baseline="top", dx=4, dy=4, fontSize=TEXT_PX, color="#555").encode(
        x="from:Q", y=alt.value(0), text="label:N")
    return spec(alt.layer(shade, band, line, label).properties(width="container", height=260))


def seed_points(rows: list[dict], networks: list[str], title: str = "test accuracy") -> dict:
    """One point per seed and network, a tick at each network's median. rows: network, seed, accuracy."""
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("network:N", sort=networks, title=None),
        color=alt.Color("network:N", sort=networks, scale=alt.Scale(domain=networks, range=LAYER_COLORS[:len(networks)]),
                        legend=None))
    x = alt.X("accuracy:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format=".1%"), title=title)
    points = base.mark_point(filled=True, size=60, opacity=0.8).encode(
        x=x, tooltip=[alt.Tooltip("network:N"), alt.Tooltip("seed:N"), alt.Tooltip("accuracy:Q", format=".2%")])
    ticks = base.mark_tick(thickness=2, size=22).encode(
        x=alt.X("median(accuracy):Q"), tooltip=[alt.Tooltip("network:N"), alt.Tooltip("median(accuracy):Q", format=".2%", title="median")])
    return spec(alt.layer(ticks, points).properties(width="container", height=40 * len(networks) + 20))


def size_bars(rows: list[dict], metrics: list[str], networks: list[str]) -> dict:
    """Graph sizes side by side: per metric a bar per network. rows: network, metric, value."""
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        y=alt.Y("metric:N", sort=metrics, title=None),
        yOffset=alt.YOffset("network:N", sort=networks),
        x=alt.X("value:Q", title="count in the exact flowgraph"),
        color=alt.Color("network:N", sort=networks, scale=alt.Scale(domain=networks, range=LAYER_COLORS[:len(networks)]),
                        legend=alt.Legend(orient="top", title=None)),
        tooltip=[alt.Tooltip("network:N"), alt.Tooltip("metric:N"), alt.Tooltip("value:Q", format=",")])
    text = chart.mark_text(align="left", dx=3, fontSize=TEXT_PX).encode(text=alt.Text("value:Q", format=","), color=alt.value("#333"))
    return spec(alt.layer(chart, text).properties(width="container", height=36 * len(metrics) * len(networks) // 2 + 40))


def cluster_network(nodes: list[dict], edges: list[dict], layout: dict) -> dict:
    """A network's nodes at their flowgraph positions, coloured by cluster, its edges as grey
    lines; a click on a node follows its `href` (a site-root-relative link into the flowgraph).
    nodes: id, x, y, kind, cluster, href; edges: x, y, x2, y2."""
    clusters = sorted({n["cluster"] for n in nodes if n["cluster"].startswith("cluster")}, key=lambda c: int(c.split()[1]))
    domain = clusters + sorted({n["cluster"] for n in nodes} - set(clusters))
    palette = (LAYER_COLORS[:4] + ["#d4a017", "#7b3294", "#1b7837", "#999999"]) * 3
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=[0, layout["width"]]))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[0, layout["height"]], reverse=True))
    # named datasets, filled in after Altair has built the spec (see matching_heatmap)
    lines = alt.Chart(alt.NamedData(name="edges")).mark_rule(color="#bbbbbb", strokeWidth=0.6, opacity=0.6).encode(
        x=x, y=y, x2="x2:Q", y2="y2:Q")
    points = alt.Chart(alt.NamedData(name="nodes")).mark_circle(opacity=0.95, stroke="#333", strokeWidth=0.3).encode(
        size=alt.condition("datum.kind == 'input'", alt.value(12), alt.value(40)),   # pixels sit 12 px apart
        x=x, y=y, color=alt.Color("cluster:N", sort=domain, scale=alt.Scale(domain=domain, range=palette[:len(domain)]),
                                  legend=alt.Legend(orient="top", title=None, columns=3)),
        href="href:N", tooltip=[alt.Tooltip("id:N", title="node"), alt.Tooltip("cluster:N")])
    out = spec(alt.layer(lines, points).properties(width="container", height=420).configure_view(stroke=None))
    out.setdefault("datasets", {}).update({"edges": edges, "nodes": nodes})
    return out


def n_cut_strips(rows: list[dict], networks: list[str], ks: list[str]) -> dict:
    """Per network, the shuffles' n-cuts (small ticks) and the real one (large mark), each over
    the mean of the shuffles' (networks differ in n-cut by far more than from their shuffles),
    for the k picked by a radio. rows: network, k, kind (real | shuffled), n_cut, relative."""
    pick = alt.param(name="k_shown", value=ks[0], bind=alt.binding_radio(options=ks, name="k = "))
    base = alt.Chart(alt.Data(values=rows)).transform_filter("datum.k == k_shown").encode(
        y=alt.Y("network:N", sort=networks, title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X("relative:Q", scale=alt.Scale(zero=False), title="n-cut over the shuffles' mean (below 1: more clusterable)"),
        tooltip=[alt.Tooltip("network:N"), alt.Tooltip("kind:N"), alt.Tooltip("n_cut:Q", format=".3f", title="n-cut"),
                 alt.Tooltip("relative:Q", format=".3f", title="over the shuffles' mean")])
    shuffles = base.transform_filter("datum.kind == 'shuffled'").mark_tick(color="#888888", thickness=1.5, size=16)
    real = base.transform_filter("datum.kind == 'real'").mark_point(shape="diamond", filled=True, size=140,
                                                                    color=SPLIT_COLORS[0])
    return spec(alt.layer(shuffles, real).add_params(pick).properties(width="container", height=40 * len(networks)))


def matching_heatmap(compared: dict, filters_a, filters_b, side: int, name_a: str, name_b: str) -> dict:
    """The correlation matrix of two networks' units, rows in order of matched correlation, columns
    in the order of their bipartite partners (matched pairs on the diagonal); clicking a cell shows
    both units' filters (side × side, in the sign colours, its own legend) under it. Without
    filters (a layer that does not read pixels), the matrix alone."""
    from generator.site.palette import NEGATIVE, POSITIVE
    corr, partner = compared["correlation"], compared["partner"]
    n = len(partner)
    order = sorted(range(n), key=lambda i: -corr[i, partner[i]])
    rank_a = {u: r for r, u in enumerate(order)}
    rank_b = {int(partner[u]): r for r, u in enumerate(order)}
    cells = [{"a": i, "b": j, "ra": rank_a[i], "rb": rank_b.get(j, n + j), "r": round(float(corr[i, j]), 4),
              "unit_a": f"{name_a} unit {i}", "unit_b": f"{name_b} unit {j}"} for i in range(n) for j in range(corr.shape[1])]
    first = order[0]
    pair = alt.selection_point(name="pair", fields=["a", "b"], on="click", clear=False,
                               value=[{"a": int(first), "b": int(partner[first])}])
    heat = alt.Chart(alt.Data(values=cells)).mark_rect().encode(
        x=alt.X("rb:O", title=f"{name_b}: units, in the order of their partners", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("ra:O", title=f"{name_a}: units, best matched first", axis=alt.Axis(labels=False, ticks=False)),
        color=alt.Color("r:Q", scale=alt.Scale(scheme="greys", domain=[0, 1], clamp=True), title="correlation (below 0 as 0)",
                        legend=alt.Legend(orient="bottom", gradientLength=160)),
        stroke=alt.condition(pair, alt.value(SPLIT_COLORS[0]), alt.value(None)),
        strokeWidth=alt.condition(pair, alt.value(2.5), alt.value(0)),
        tooltip=[alt.Tooltip("unit_a:N", title="row"), alt.Tooltip("unit_b:N", title="column"),
                 alt.Tooltip("r:Q", format=".3f", title="correlation")]).add_params(pair)
    if filters_a is None:
        return spec(heat.properties(width=300, height=300))
    scale = float(max(abs(filters_a).max(), abs(filters_b).max()))
    rows = [{"net": name_a, "unit": i, "w": [round(float(v), 4) for v in filters_a[i]]} for i in range(len(filters_a))]
    rows += [{"net": name_b, "unit": j, "w": [round(float(v), 4) for v in filters_b[j]]} for j in range(len(filters_b))]
    picked = (f"(datum.net == '{name_a}' && pair.a && indexof(pair.a, datum.unit) >= 0) || "
              f"(datum.net == '{name_b}' && pair.b && indexof(pair.b, datum.unit) >= 0)")
    # The filters' values join the spec after Altair has built it (a named dataset): Altair deep-copies
    # inline data at every step, seconds for 64 arrays of 784 numbers.
    filters_data = alt.NamedData(name="filters")
    pixels = (alt.Chart(filters_data).transform_filter(picked).transform_flatten(["w"], as_=["weight"])
              .transform_window(index="row_number()", groupby=["net"])
              .transform_calculate(col=f"(datum.index - 1) % {side} + (datum.net == '{name_b}' ? {side + 1} : 0)",
                                   row=f"floor((datum.index - 1) / {side})", col2="datum.col + 1", row2="datum.row + 1",
                                   label="datum.net + ' unit ' + datum.unit")
              .mark_rect().encode(
                  x=alt.X("col:Q", axis=None, scale=alt.Scale(domain=[0, 2 * side + 1])), x2="col2:Q",
                  y=alt.Y("row:Q", axis=None, scale=alt.Scale(domain=[0, side], reverse=True)), y2="row2:Q",
                  color=alt.Color("weight:Q", scale=alt.Scale(domain=[-scale, 0, scale], range=[NEGATIVE, "#f4f4f4", POSITIVE]),
                                  title="weight", legend=alt.Legend(orient="bottom", gradientLength=160)),
                  tooltip=[alt.Tooltip("label:N", title="unit"), alt.Tooltip("weight:Q", format=".3f")]))
    titles = (alt.Chart(filters_data).transform_filter(picked)
              .transform_calculate(x=f"datum.net == '{name_b}' ? {side + 1} : 0", label="datum.net + ', unit ' + datum.unit")
              .mark_text(align="left", baseline="bottom", dy=-4, fontSize=TEXT_PX)
              .encode(x=alt.X("x:Q", axis=None, scale=alt.Scale(domain=[0, 2 * side + 1])), y=alt.value(0), text="label:N"))
    filters = alt.layer(pixels, titles).properties(width=300, height=150)
    out = spec(alt.vconcat(heat.properties(width=300, height=300), filters).resolve_scale(color="independent"))
    out.setdefault("datasets", {})["filters"] = rows
    return out


def matching_summary(rows: list[dict], layers: list[str]) -> dict:
    kinds = ["semi-matching", "bipartite"]
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        y=alt.Y("layer:N", sort=layers, title=None), yOffset=alt.YOffset("matching:N", sort=kinds),
        x=alt.X("correlation:Q", scale=alt.Scale(domain=[0, 1]), title="mean correlation with the partner"),
        color=alt.Color("matching:N", sort=kinds, scale=alt.Scale(domain=kinds, range=LAYER_COLORS[:2]),
                        legend=alt.Legend(orient="top", title=None)),
        tooltip=[alt.Tooltip("layer:N"), alt.Tooltip("matching:N"), alt.Tooltip("correlation:Q", format=".3f")])
    return spec(chart.properties(width="container", height=50 * len(layers)))


def tradeoff(rows: list[dict], metrics: dict[str, str], families: list[str]) -> dict:
    """Test accuracy against a size measure the reader picks (a select above the chart), one
    point per network and seed, the Pareto front for that measure as a line; each point links to
    its graph. rows: network, seed, test_accuracy, href, a value and a front_<metric> flag per metric."""
    names = list(metrics)
    pick = alt.param(name="size_by", value=names[0],
                     bind=alt.binding_select(options=names, labels=[metrics[m] for m in names], name="size: "))
    palette = LAYER_COLORS[:4] + ["#d4a017", "#7b3294"]
    # each row's size by the first measure as well: what the chart shows before the reader picks
    rows = [{**row, "size": row[names[0]]} for row in rows]
    base = alt.Chart(alt.Data(values=rows)).transform_calculate(size="datum[size_by]", front="datum['front_' + size_by]") \
        .transform_filter("isValid(datum.size)")
    x = alt.X("size:Q", scale=alt.Scale(type="log"), axis=alt.Axis(labelOverlap="greedy", labelSeparation=6),
              title="flowgraph size (log scale; measure below)")
    y = alt.Y("test_accuracy:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format=".0%"), title="test accuracy")
    legend = alt.Legend(orient="bottom", columns=1, title=None)       # one column: a phone is 360 px wide
    color = alt.Color("network:N", sort=families, scale=alt.Scale(domain=families, range=palette[:len(families)]), legend=legend)
    front = base.transform_filter("datum.front").mark_line(color="#333333", strokeDash=[5, 3], strokeWidth=1.2).encode(
        x=x, y=y, order="size:Q")
    dots = base.mark_point(filled=True, size=70, opacity=0.85).encode(
        x=x, y=y, color=color, shape=alt.Shape("network:N", sort=families, scale=alt.Scale(domain=families), legend=legend), href="href:N",
        tooltip=[alt.Tooltip("network:N"), alt.Tooltip("seed:N"), alt.Tooltip("test_accuracy:Q", format=".2%", title="test accuracy"),
                 *[alt.Tooltip(f"{m}:Q", format=",.0f", title=metrics[m]) for m in names]])
    return spec(alt.layer(front, dots).add_params(pick).properties(width="container", height=320))
