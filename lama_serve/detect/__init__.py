"""Automatic watermark detection: detectors, served detector models, synthetic composites and map post-processing."""
