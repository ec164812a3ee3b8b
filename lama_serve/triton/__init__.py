"""Triton access: one request builder and error classifier, repository control, the bundled tritonserver process."""
