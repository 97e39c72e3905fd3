"""Charts of the robustness chapter (generator/chapters/robustness.py): a module of its own, so
that no other chapter's cache key changes with them."""
from __future__ import annotations

import altair as alt

from generator.site.charts import LAYER_COLORS, spec


def robust_share(rows: list[dict], networks: list[str]) -> dict:
    """Per network, the share of the test images that are classified correctly and keep their
    class under every change of at most ε (L∞), against ε in grey levels: a step down at each
    image's exact radius. rows: network, epsilon (grey levels), share, images."""
    base = alt.Chart(alt.Data(values=rows))
    color = alt.Color("network:N", title=None, scale=alt.Scale(domain=networks, range=LAYER_COLORS[:len(networks)]),
                      legend=alt.Legend(orient="bottom"))
    x = alt.X("epsilon:Q", title="largest change of any pixel, in grey levels (of 255)")
    y = alt.Y("share:Q", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1]),
              title="correct and unchanged by every such change")
    line = base.mark_line(interpolate="step-after").encode(x=x, y=y, color=color)
    points = base.mark_point(filled=True, size=30).encode(
        x=x, y=y, color=color,
        tooltip=[alt.Tooltip("network:N"), alt.Tooltip("epsilon:Q", title="ε (grey levels)", format=".2f"),
                 alt.Tooltip("share:Q", format=".0%", title="still correct"), alt.Tooltip("images:Q")])
    return spec((line + points).properties(width="container", height=260))


def image_triptych(rows: list[dict], titles: list[str]) -> dict:
    """Three 28 × 28 pictures side by side: the test image, the adversarial image and the change.
    rows: panel, row, col, value (0..1 for the images; the change in grey levels); cells left
    out are 0 (white; no change)."""
    pictures = [r for r in rows if r["panel"] != titles[2]]
    change = [r for r in rows if r["panel"] == titles[2]]
    biggest = max((abs(r["value"]) for r in change), default=1.0) or 1.0
    cell = dict(width=104, height=104)     # three side by side fit a phone without shrinking the text
    x = alt.X("col:O", axis=None, scale=alt.Scale(domain=list(range(28))))
    y = alt.Y("row:O", axis=None, scale=alt.Scale(domain=list(range(28))))
    image = (alt.Chart(alt.Data(values=pictures)).mark_rect().encode(
        x=x, y=y, color=alt.Color("value:Q", scale=alt.Scale(domain=[0, 1], range=["#ffffff", "#000000"]), legend=None),
        tooltip=[alt.Tooltip("row:O"), alt.Tooltip("col:O"), alt.Tooltip("value:Q", format=".3f", title="pixel")])
        .properties(**cell).facet(column=alt.Column("panel:N", title=None, sort=titles[:2],
                                                    header=alt.Header(labelFontSize=11))))
    diff = (alt.Chart(alt.Data(values=change)).mark_rect().encode(
        x=x, y=y,
        color=alt.Color("value:Q", scale=alt.Scale(domain=[-biggest, biggest], range=["#8c510a", "#f5f5f5", "#5e3c99"]),
                        legend=alt.Legend(title="grey levels", orient="bottom", gradientLength=140)),
        tooltip=[alt.Tooltip("row:O"), alt.Tooltip("col:O"), alt.Tooltip("value:Q", format="+.2f", title="change")])
        .properties(title=alt.TitleParams(titles[2], fontSize=11, fontWeight="normal"), **cell))
    return spec(alt.hconcat(image, diff).resolve_scale(color="independent"))
