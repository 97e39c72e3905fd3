"""Networks, data and training: MNIST, the model registry, training loops, lottery-ticket
pruning, the CartPole DQN and its distillation, and the settings dataclasses they read.

May import generator.pipeline (errors, progress, task results); never the flowgraph or the site.
"""
