"""Cancelled requests are split off before any batch runs (fakes: a cancelled request could
not be produced through the bundled Triton's HTTP-only test fixtures here)."""

from lama_serve.backend.cancellation import split_cancelled


def test_cancelled_requests_are_split_off_in_order() -> None:
    requests = ["a", "gone1", "b", "gone2"]
    assert split_cancelled(requests, lambda r: r.startswith("gone")) == ([0, 2], [1, 3])
    assert split_cancelled([], lambda r: True) == ([], [])
