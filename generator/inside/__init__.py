"""Looking inside a trained network with methods beside its graph: t-SNE maps of every layer's
activations and how well they separate the classes (and, as they land, strongest stimuli,
attributions, per-sample circuits).

Activations are read from the exact flowgraph (what the graph carries is what the network
computes), so the page, which evaluates the same graph, sees the same layer spaces. May import
generator.pipeline, generator.networks and generator.flowgraph; never the site or the chapters.
"""
