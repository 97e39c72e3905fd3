"""The site: the data folder mkdocs reads (manifest, facts, figure pages), the mkdocs run,
static snapshots of figures and the Altair charts.

May import generator.pipeline and generator.flowgraph; never trains anything.
"""
