"""The sign palette the build draws with and the words that name it: blue for positive, orange
for negative, a pair readers with red-green colour blindness tell apart. It is the site's
default; the page offers the classic green and red one click away (site_src/js/palette.js) and
rewrites the colour words of captions to match, so captions name colours through SIGNS only.
Mirrors PALETTES["blue-orange"] in site_src/js/constants.js and --fg-positive/--fg-negative in
site_src/css/report.css; change all together (tests/js/palette.test.mjs checks)."""
from __future__ import annotations

POSITIVE = "#2166ac"   # blue
NEGATIVE = "#c05600"   # orange
NAMES = {"positive": "blue", "negative": "orange"}

# How a caption says which colour is which; the mkdocs hook marks the two colour words so the
# page can rename them when the reader switches palettes.
SIGNS = f"{NAMES['positive']} positive, {NAMES['negative']} negative"
