"""The bottom layer: the I/O contract, settings, the model-repository layout, the root error."""
