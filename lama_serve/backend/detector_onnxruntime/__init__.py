"""The `detector_onnxruntime` backend (model.py runs inside Triton's Python stub only)."""
