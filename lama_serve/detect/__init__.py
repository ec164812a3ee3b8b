"""Watermark detection: synthetic composites, served detector models and their post-processing."""
