"""The bf16 accuracy gate, with numbers."""

import numpy as np
import pytest

from lama_serve.core.accuracy import GATE_SHAPES, RegionDifference, combine, gate_inputs, region_difference


def test_only_the_inpainted_region_counts() -> None:
    reference = np.zeros((1, 2, 2, 3), np.uint8)
    candidate = reference.copy()
    candidate[0, 0, 0] = [3, 0, 0]  # inside the mask: |3|,0,0
    candidate[0, 1, 1] = [200, 200, 200]  # outside: ignored
    mask = np.zeros((1, 2, 2, 1), np.uint8)
    mask[0, 0, :] = 255  # 2 pixels x 3 channels inside
    assert region_difference(reference, candidate, mask) == RegionDifference(mean=0.5, max=3)


def test_uint8_does_not_wrap() -> None:
    mask = np.full((1, 1, 1, 1), 255, np.uint8)
    got = region_difference(np.full((1, 1, 1, 3), 2, np.uint8), np.full((1, 1, 1, 3), 250, np.uint8), mask)
    assert got == RegionDifference(mean=248.0, max=248)


@pytest.mark.parametrize(
    ("difference", "fails"),
    [
        (RegionDifference(1.2, 13), None),
        (RegionDifference(1.5, 64), None),
        (RegionDifference(1.51, 10), "1.51 levels on average"),
        (RegionDifference(0.3, 65), "65 levels"),
    ],
)
def test_bounds(difference: RegionDifference, fails: str | None) -> None:
    failure = difference.failure()
    assert failure is None if fails is None else fails in failure


def test_worst_case_over_inputs_and_errors() -> None:
    assert combine([RegionDifference(1.0, 40), RegionDifference(1.4, 9)]) == RegionDifference(1.4, 40)
    with pytest.raises(ValueError, match="empty"):
        region_difference(
            np.zeros((1, 1, 1, 3), np.uint8), np.zeros((1, 1, 1, 3), np.uint8), np.zeros((1, 1, 1, 1), np.uint8)
        )


def test_gate_inputs_are_fixed() -> None:
    first, again = gate_inputs(), gate_inputs()
    assert [i.shape[1:3] for i, _ in first] == list(GATE_SHAPES)
    assert all(np.array_equal(a[0], b[0]) and a[1].any() for a, b in zip(first, again))
