"""Your own model: a small network from an ONNX file, a torch file or memory, turned into an exact,
explorable report (`flowgraph-report model`): load → Sequential → flowgraph → exact bounds → site."""
