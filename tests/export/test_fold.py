import torch
from torch import nn

from lama_serve.export.fold import fold_batchnorms


def test_folding_removes_batchnorms_and_keeps_outputs(tiny_generator) -> None:
    folded = fold_batchnorms(tiny_generator)
    remaining = [m for m in folded.modules() if isinstance(m, nn.BatchNorm2d)]
    # only the Fourier units' BN stays (it follows a single conv: ONNX Runtime fuses it)
    assert len(remaining) == 2 * 2  # tiny: 2 blocks x 2 FFCs
    x = torch.rand(1, 4, 64, 56)
    with torch.no_grad():
        assert torch.allclose(tiny_generator(x), folded(x), atol=1e-5)
    # the original keeps its official keys
    assert "model.1.bn_l.running_mean" in tiny_generator.state_dict()
