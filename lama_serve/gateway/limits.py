"""The request limits as clients read them in the OpenAPI description, from Settings (where
every limit is defined) and the memory budget (inpaint/budget.py)."""

from __future__ import annotations

import math

from lama_serve.core.settings import Settings
from lama_serve.gateway.inpaint.budget import Budget


def describe_limits(settings: Settings) -> str:
    """Markdown list of this server's limits."""
    budget = Budget.from_settings(settings)
    square = int(math.sqrt(budget.max_pixels)) // 8 * 8
    return f"""
**Limits of this server** (413 beyond them):

- each uploaded file at most {settings.max_upload_bytes / 2**20:g} MiB; images at most
  {settings.max_image_side} px per side and {settings.max_image_pixels / 1e6:.1f} Mpx;
- model memory per request {budget.max_bytes / 2**30:.1f} GiB, i.e. {budget.max_pixels / 1e6:.1f} Mpx
  sent to the model at once (about {square}x{square} with `hd_strategy=original`; a batch's items
  count together): larger `original` requests get 413, `resize` is scaled to fit and `crop`
  falls back to a resized whole image when its windows would not fit;
- at most {settings.batch_max_items} items per batch and {settings.max_windows_per_request} `crop`
  windows per image;
- a request body that stops arriving for {settings.body_read_timeout_s:g} s gets 408, and so do
  request headers not complete within {settings.header_read_timeout_s:g} s.
"""
