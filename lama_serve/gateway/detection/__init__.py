"""Automatic watermark detection in the gateway: served detector maps + local detectors."""
