"""The flowgraph and what is computed from it: the exact graph of a network (build, bounds,
simplify, evaluate), its layout, sample traces, and the JSON documents with their schemas.

Plain data and free functions; may import generator.pipeline and torch modules it converts,
never generator.site or the chapters.
"""
