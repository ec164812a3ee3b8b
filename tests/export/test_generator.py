import copy

import torch

from lama_serve.export.arch import BIG_LAMA_PARAMETERS, get_arch
from lama_serve.export.generator import FFCResNetGenerator
from lama_serve.export.spectral import MatmulDFT


def test_big_lama_has_the_official_parameter_count_and_keys() -> None:
    generator = FFCResNetGenerator(get_arch("big-lama"))
    state = generator.state_dict()
    trainable = sum(p.numel() for p in generator.parameters() if p.requires_grad)
    assert trainable == BIG_LAMA_PARAMETERS == 50_975_875
    expected_shapes = {
        "model.1.ffc.convl2l.weight": (64, 4, 7, 7),
        "model.4.ffc.convl2g.weight": (384, 256, 3, 3),
        "model.5.conv1.ffc.convg2g.fu.conv_layer.weight": (384, 384, 1, 1),
        "model.5.conv1.ffc.convg2g.conv1.0.weight": (192, 384, 1, 1),
        "model.22.conv2.bn_g.running_var": (384,),
        "model.24.weight": (512, 256, 3, 3),
        "model.34.weight": (3, 64, 7, 7),
        "model.34.bias": (3,),
    }
    for key, shape in expected_shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert "model.35.weight" not in state  # sigmoid has no weights


def test_matmul_dft_and_torch_fft_generators_agree(tiny_generator) -> None:
    matmul_generator = copy.deepcopy(tiny_generator)
    matmul_generator.use_spectral(MatmulDFT())
    x = torch.rand(2, 4, 48, 72)  # bottleneck 6x9: odd width
    with torch.no_grad():
        reference, matmul = tiny_generator(x), matmul_generator(x)
    assert reference.shape == (2, 3, 48, 72)
    assert torch.allclose(reference, matmul, atol=1e-5)
