"""Plane filters, with numbers."""

from __future__ import annotations

import numpy as np

from lama_serve.detect.filters import line_mean


def test_line_mean_keeps_lines_and_averages_scattered_texture_down():
    plane = np.zeros((40, 40), np.float32)
    plane[20, 5:35] = 9.0  # a horizontal edge
    plane[np.arange(5, 35), np.arange(5, 35)] = 9.0  # a diagonal one
    dots = np.zeros((40, 40), np.float32)
    dots[::4, ::4] = 9.0  # texture: isolated pixels as strong as the lines
    lines, texture = line_mean(plane, 9), line_mean(dots, 9)
    assert lines[20, 12] == 9.0 and lines[30, 30] == 9.0  # along each line: its full strength
    assert lines[2, 30] == 0.0
    assert texture.max() <= 9.0 * 3 / 9 + 1e-6  # a 9 px segment crosses at most 3 dots 4 px apart
