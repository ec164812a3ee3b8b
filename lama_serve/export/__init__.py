"""Export of the big-lama generator: checkpoint -> PyTorch module -> ONNX -> parity check.

Kept import-light (no torch at import time) so the gateway can read `export.contract`.
"""
