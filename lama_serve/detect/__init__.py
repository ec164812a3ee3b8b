"""Automatic watermark detection: detectors that turn an image into a mask and regions."""
