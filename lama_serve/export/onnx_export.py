"""Step 3: trace the served graph to ONNX with dynamic batch, height and width."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch
from torch import nn

from lama_serve.core import contract
from lama_serve.export.fold import fold_batchnorms
from lama_serve.export.generator import FFCResNetGenerator
from lama_serve.export.graph import InpaintingGraph
from lama_serve.export.precision import to_precision
from lama_serve.export.spectral import MatmulDFT

# Tracing shape: odd bottleneck width (W/8 = 9) so nothing specialises on even sizes.
_TRACE_SHAPE = (1, 64, 72)


def deployable_graph(generator: FFCResNetGenerator, precision: str = "fp32") -> InpaintingGraph:
    """The graph that gets exported: BN folded, FFT as matmuls, chosen precision."""
    folded = fold_batchnorms(generator)
    folded.use_spectral(MatmulDFT())
    return InpaintingGraph(to_precision(folded, precision)).eval()


def reference_graph(generator: FFCResNetGenerator) -> InpaintingGraph:
    """PyTorch eager as the official model runs (torch.fft, BN unfolded): the parity reference."""
    return InpaintingGraph(copy.deepcopy(generator).eval()).eval()


def export_onnx(graph: nn.Module, path: Path, opset: int = contract.ONNX_OPSET) -> Path:
    n, h, w = _TRACE_SHAPE
    image = torch.randint(0, 256, (n, h, w, 3), dtype=torch.uint8)
    mask = torch.zeros((n, h, w, 1), dtype=torch.uint8)
    mask[:, h // 4 : h // 2, w // 4 : w // 2] = 255
    dynamic_axes = {spec.name: spec.onnx_dynamic_axes for spec in contract.INPUTS + contract.OUTPUTS}
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        # the legacy exporter warns about its own deprecation and about traced shape ints
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (image, mask),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=[s.name for s in contract.INPUTS],
            output_names=[s.name for s in contract.OUTPUTS],
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    return path
