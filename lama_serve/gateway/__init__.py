"""FastAPI gateway: the IOPaint-compatible v1 watermark-removal API in front of Triton."""
