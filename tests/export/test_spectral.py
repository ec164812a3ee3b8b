import pytest
import torch

from lama_serve.export.spectral import MatmulDFT, TorchFFT


@pytest.mark.parametrize("h,w", [(8, 8), (9, 13), (64, 64), (7, 10), (1, 1), (2, 3), (64, 128)])
def test_matmul_dft_matches_torch_fft(h: int, w: int) -> None:
    x = torch.randn(2, 3, h, w)
    reference, matmul = TorchFFT(), MatmulDFT()
    matmul.prepare(x)
    for a, b in zip(reference.rfft2(x), matmul.rfft2(x)):
        assert torch.allclose(a, b, atol=5e-6)
    # arbitrary spectra, imaginary DC/Nyquist included: irfft must ignore them as torch does
    real, imag = torch.randn(2, 3, h, w // 2 + 1), torch.randn(2, 3, h, w // 2 + 1)
    assert torch.allclose(reference.irfft2(real, imag, (h, w)), matmul.irfft2(real, imag, (h, w)), atol=5e-6)


def test_round_trip_is_identity() -> None:
    x = torch.randn(1, 2, 12, 15)
    dft = MatmulDFT()
    dft.prepare(x)
    assert torch.allclose(dft.irfft2(*dft.rfft2(x), (12, 15)), x, atol=1e-5)


def test_matmul_dft_needs_prepare() -> None:
    with pytest.raises(RuntimeError, match="prepare"):
        MatmulDFT().rfft2(torch.zeros(1, 1, 4, 4))
