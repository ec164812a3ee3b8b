"""Step 4: the exported graph must agree with PyTorch eager (torch.fft) on fresh inputs.

Like Polygraphy's "mark outputs", the check exposes the generator's float prediction (the
output of the graph's Sigmoid) as an extra output of an in-memory copy of the model, so the
float tolerance is checked and not only the uint8 pixels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from lama_serve.core import contract
from lama_serve.export.errors import ParityError
from lama_serve.export.graph import InpaintingGraph

# (batch, height, width): square, non-square with an odd bottleneck width, batch 2
PARITY_SHAPES = ((1, 64, 64), (2, 48, 80), (1, 72, 56))
TOLERANCES = {"fp32": 1e-4, "fp16": 2e-2}  # max abs on the [0,1] prediction
MAX_PIXEL_DIFF = {"fp32": 1, "fp16": 8}


@dataclass(frozen=True)
class ParityReport:
    shape: tuple[int, int, int]
    max_abs_float: float
    mean_abs_float: float
    max_pixel_diff: int
    pixels_differing: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def line(self) -> str:
        """One line for the export's progress (the CLI's output, `lama-serve up`'s log)."""
        return f"  parity {self.shape}: max abs {self.max_abs_float:.2e}, max pixel diff {self.max_pixel_diff}"


def random_inputs(shape: tuple[int, int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noise images and masks of random rectangles: fresh data, not the tracing example."""
    n, h, w = shape
    image = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    mask = np.zeros((n, h, w, 1), dtype=np.uint8)
    for i in range(n):
        y0, x0 = rng.integers(0, max(1, h // 2)), rng.integers(0, max(1, w // 2))
        dy, dx = rng.integers(1, max(2, h // 2)), rng.integers(1, max(2, w // 2))
        mask[i, y0 : y0 + dy, x0 : x0 + dx] = 255
    return image, mask


def _session_with_prediction(onnx_path: Path) -> tuple[ort.InferenceSession, str]:
    model = onnx.load(str(onnx_path))
    sigmoids = [node for node in model.graph.node if node.op_type == "Sigmoid"]
    if len(sigmoids) != 1:
        raise ParityError(
            f"expected one Sigmoid (the generator output) in {onnx_path}, "
            f"found {len(sigmoids)}; was the graph built by export.onnx_export?"
        )
    name = sigmoids[0].output[0]
    model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]), name


def check_parity(
    onnx_path: Path,
    reference: InpaintingGraph,
    precision: str = "fp32",
    shapes: tuple[tuple[int, int, int], ...] = PARITY_SHAPES,
    seed: int = 1234,
) -> list[ParityReport]:
    """Run both on the same inputs; raise ParityError naming the shape and the gap."""
    session, pred_name = _session_with_prediction(onnx_path)
    out_name = contract.INPAINTED.name
    rng = np.random.default_rng(seed)
    reports = []
    for shape in shapes:
        image, mask = random_inputs(shape, rng)
        got_pixels, got_pred = session.run([out_name, pred_name], {"image": image, "mask": mask})
        with torch.no_grad():
            ref_pred = reference.predict(torch.from_numpy(image), torch.from_numpy(mask))[0].numpy()
            ref_pixels = reference(torch.from_numpy(image), torch.from_numpy(mask)).numpy()
        float_gap = np.abs(got_pred.astype(np.float32) - ref_pred)
        pixel_gap = np.abs(got_pixels.astype(np.int16) - ref_pixels.astype(np.int16))
        report = ParityReport(
            shape, float(float_gap.max()), float(float_gap.mean()), int(pixel_gap.max()), int((pixel_gap > 0).sum())
        )
        reports.append(report)
        if report.max_abs_float > TOLERANCES[precision] or report.max_pixel_diff > MAX_PIXEL_DIFF[precision]:
            raise ParityError(
                f"{onnx_path} differs from PyTorch eager at batch/height/width {shape}: "
                f"prediction max abs {report.max_abs_float:.3g} (limit {TOLERANCES[precision]:g}), "
                f"uint8 max diff {report.max_pixel_diff} (limit {MAX_PIXEL_DIFF[precision]}) on "
                f"{report.pixels_differing} values. The export is not trustworthy; re-run with "
                "--no-validate only to debug it."
            )
        unmasked = np.broadcast_to(mask == 0, got_pixels.shape)
        if not np.array_equal(got_pixels[unmasked], image[unmasked]):
            raise ParityError(f"{onnx_path} changed unmasked pixels at {shape}; the composite is broken")
    return reports
