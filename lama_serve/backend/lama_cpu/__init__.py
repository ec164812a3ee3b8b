"""The `lama_cpu` backend (model.py runs inside Triton's Python stub only)."""
