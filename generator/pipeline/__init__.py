"""The build machinery: chapters and tasks, the cache that checks what it reads, parallel runs
(joblib), atomic writes and the build lock, paths, errors and progress.

Imports nothing from the other generator packages, except `runner`, which drives the chapters
(it imports generator.chapters, generator.site.snapshot and generator.flowgraph.export).
"""
