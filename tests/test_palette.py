"""The sign palette in a reader's hands, in Debian chromium on the quick site: every figure tells
positive from negative by blue and orange (the default, told apart with red-green colour
blindness); one click on any figure's switch turns every figure of the page to green and red,
in its pixels, its legend, its caption's colour words and its downloads, and the URL keeps the
choice, so a copied link opens with the same colours. The colours are read from what the
figures draw (canvas and image pixels, classified by hue), not from what they say."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1400, "height": 1000}
READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"
DEFAULT, CLASSIC = ("blue", "orange"), ("green", "red")

# Pixels of a figure's pictures (its canvases but the highlight overlay, and its filter images)
# counted by hue: blue, orange, green, red. Faint and grey pixels (labels, the input grid,
# identity fills) are left out.
HUES = """async (mount) => {
  const counts = { blue: 0, orange: 0, green: 0, red: 0 };
  const sources = [...mount.querySelectorAll("canvas.fg-canvas:not(.fg-overlay), img.fg-filter-weights, img.fg-filter-product")]
    .filter((s) => s.tagName !== "IMG" || s.getAttribute("src"));
  for (const source of sources) {
    if (source.tagName === "IMG") await source.decode();
    const w = source.naturalWidth || source.width, h = source.naturalHeight || source.height;
    if (!w || !h) continue;
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(source, 0, 0);
    const data = ctx.getImageData(0, 0, w, h).data;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      const max = Math.max(r, g, b), min = Math.min(r, g, b);
      if (data[i + 3] < 128 || max - min < 40 || (max - min) / max < 0.25) continue;
      let hue = max === r ? 60 * ((g - b) / (max - min)) : max === g ? 60 * (2 + (b - r) / (max - min))
        : 60 * (4 + (r - g) / (max - min));
      if (hue < 0) hue += 360;
      if (hue < 15 || hue >= 345) counts.red++;
      else if (hue < 45) counts.orange++;
      else if (hue >= 90 && hue < 170) counts.green++;
      else if (hue >= 190 && hue < 250) counts.blue++;
    }
  }
  return counts;
}"""


def open_ready(page, url):
    page.goto(url)
    page.wait_for_function(READY, timeout=30_000)
    page.wait_for_timeout(300)


def sign_figures(page) -> list[str]:
    """The figures of the page that draw sign colours: all but the charts."""
    return page.eval_on_selector_all(".fg-mount", "ms => ms.filter(m => m.dataset.kind !== 'altair')"
                                                  ".map(m => m.dataset.figureId)")


def hues(page, figure):
    return page.eval_on_selector(f'.fg-mount[data-figure-id="{figure}"]', HUES)


def assert_palette(page, figures, names):
    """Every figure draws the palette's two colours, and (next to nothing of) the other's. (Where
    green and red edges cross they blend to an orange-brown: with green/red shown, only blue
    counts as the other palette's.)"""
    positive, negative = names
    others = ["green", "red"] if names == DEFAULT else ["blue"]
    for figure in figures:
        counts = hues(page, figure)
        assert counts[positive] > 30 and counts[negative] > 30, (figure, names, counts)
        assert counts[positive] + counts[negative] > 20 * (sum(counts[c] for c in others) + 1), (figure, names, counts)
    words = page.eval_on_selector_all(".fg-sign-pos, .fg-sign-neg", "es => es.map(e => [e.className, e.textContent])")
    assert words, "no legend or caption names the colours"
    assert all(text == (positive if cls == "fg-sign-pos" else negative) for cls, text in words), words


def switch(page, figure, to):
    page.locator(f"#fig-{figure} .fg-palette-switch").first.click()
    page.wait_for_function(f"window.flowgraphReport.palette() === '{to}'")
    page.wait_for_timeout(300)


def test_the_palette_switch_recolours_every_figure_and_survives_a_copied_link(page, site_url):
    page.set_viewport_size(DESKTOP)
    open_ready(page, site_url + "mnist-mlp-lth/#fig-sample-trace&sample-trace.sample=t3")
    figures = sign_figures(page)
    assert {"flowgraph", "first-layer-filters", "output-subgraph", "sample-trace", "sample-filters", "live"} <= set(figures)
    # Every figure with sign colours offers the switch, and the legends name the colours.
    for figure in figures:
        assert page.locator(f"#fig-{figure} .fg-palette-switch").count() >= 1, figure
    assert_palette(page, figures, DEFAULT)
    caption = page.locator("#fig-flowgraph figcaption").inner_text()
    assert "blue positive, orange negative" in caption
    assert page.locator("#fig-flowgraph .fg-palette-switch").inner_text() == "use green/red"

    # One click on one figure: every figure, legend and caption of the page, and the stylesheet.
    switch(page, "first-layer-filters", "green-red")
    assert_palette(page, figures, CLASSIC)
    assert "green positive, red negative" in page.locator("#fig-flowgraph figcaption").inner_text()
    assert page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--fg-positive').trim()") == "#1a9850"
    assert all(t == "use blue/orange" for t in page.locator(".fg-palette-switch").all_inner_texts())
    # The URL keeps it beside each figure's own state, and the figures' own pages get it too.
    link = page.url
    assert "palette=green-red" in link and "sample-trace.sample=t3" in link
    assert "palette=green-red" in page.locator("#fig-flowgraph a.fg-open").get_attribute("href")

    # A copied link opens with the same palette (and the same view).
    other = page.context.new_page()
    other.set_viewport_size(DESKTOP)
    open_ready(other, link)
    assert other.evaluate("window.flowgraphReport.palette()") == "green-red"
    assert_palette(other, figures, CLASSIC)
    assert other.evaluate("window.flowgraphReport.figures.get('sample-trace').figure.inspect().state.sample") == "t3"
    other.close()

    # And back: the default needs no key in the URL.
    switch(page, "flowgraph", "blue-orange")
    assert_palette(page, figures, DEFAULT)
    assert "palette=" not in page.url


def test_downloads_use_the_palette_shown(page, site_url):
    page.set_viewport_size(DESKTOP)
    open_ready(page, site_url + "mnist-mlp-lth/")
    svg = "window.flowgraphReport.figures.get('flowgraph').figure.exports().svg()"
    png_hues = f"""async () => {{
      const blob = await window.flowgraphReport.figures.get('flowgraph').figure.exports().png();
      const image = await createImageBitmap(blob);
      const canvas = document.createElement('canvas');
      canvas.className = 'fg-canvas';
      canvas.width = image.width;
      canvas.height = image.height;
      canvas.getContext('2d').drawImage(image, 0, 0);
      const holder = document.createElement('div');
      holder.appendChild(canvas);
      return ({HUES})(holder);
    }}"""
    drawn = page.evaluate(svg)
    assert "#2166ac" in drawn and "#c05600" in drawn and "#1a9850" not in drawn
    counts = page.evaluate(png_hues)
    assert counts["blue"] > 30 and counts["orange"] > 30 and counts["green"] + counts["red"] < counts["blue"] / 20
    filters_svg = page.evaluate("window.flowgraphReport.figures.get('first-layer-filters').figure.exports().svg()")
    switch(page, "flowgraph", "green-red")
    drawn = page.evaluate(svg)
    assert "#1a9850" in drawn and "#d73027" in drawn and "#2166ac" not in drawn
    counts = page.evaluate(png_hues)
    assert counts["green"] > 30 and counts["red"] > 30 and counts["blue"] < counts["green"] / 20  # (see assert_palette)
    # The filters' download holds their images as drawn now: new ones.
    assert page.evaluate("window.flowgraphReport.figures.get('first-layer-filters').figure.exports().svg()") != filters_svg


@pytest.mark.parametrize("chapter", ["cartpole-dqn/", "mnist-cnn/"])
def test_every_chapter_offers_the_switch_on_its_graphs(page, site_url, chapter):
    page.set_viewport_size(DESKTOP)
    open_ready(page, site_url + chapter)
    figures = sign_figures(page)
    assert figures
    assert_palette(page, figures, DEFAULT)
    switch(page, figures[0], "green-red")
    assert_palette(page, figures, CLASSIC)
    assert "palette=green-red" in page.url
