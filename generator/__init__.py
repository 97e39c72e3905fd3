"""Build step of the report: data → models → train → prune → flowgraph → export → render."""
