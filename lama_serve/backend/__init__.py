"""Triton Python-based backends of this project, one directory each (`<name>/model.py`).

Not imported by Python code: serving.bundle links (or copies) them into the backend directory that
tritonserver runs with; this file only makes packaging ship them."""
