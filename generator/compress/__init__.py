"""Structure and compression: what the report does to trained networks besides looking at them.
Deep Compression (pruning with retraining, weight sharing, Huffman coding and the file that
holds the result), dense-sparse-dense training, training sparse from the start, how alike two
networks trained from different seeds are (convergent learning), and how clusterable a network's
weight graph is.

May import generator.pipeline, generator.networks and generator.flowgraph; never the site or the
chapters.
"""
