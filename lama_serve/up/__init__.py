"""The embedded default: the tritonserver bundled in the PyTriton wheel, run on this host."""
