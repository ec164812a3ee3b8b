"""Image work of one request without HTTP: decode, plan windows, tile, paste back, blend, encode."""
