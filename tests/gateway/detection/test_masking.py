"""Which mask a request gets, and how far it is grown."""

from __future__ import annotations

from lama_serve.gateway.detection.masking import grow_for


def test_a_detected_mask_is_grown_by_default_and_a_clients_mask_is_not():
    assert grow_for("detected", None, 2) == 2  # the rim the mark blurred into the photo
    assert grow_for("upload", None, 2) == 0  # the client drew what it wants filled
    assert grow_for("detected", 0, 2) == 0 and grow_for("upload", 5, 2) == 5  # `grow_mask` sent: it wins
    assert grow_for("full", 5, 2) == 0  # the whole image has no rim
