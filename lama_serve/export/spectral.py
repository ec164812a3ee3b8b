"""The 2-D real FFT pair used by LaMa's Fourier units, in two interchangeable forms.

`TorchFFT` is the reference (torch.fft, as the official model runs). `MatmulDFT` computes
the same orthonormal rfft2/irfft2 as matrix products whose cos/sin bases are built from the
runtime size: ONNX `DFT` has no CUDA kernel in ONNX Runtime and no TensorRT support, while
MatMul/Cos/Sin/Range/Mod export with dynamic H and W and run everywhere.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class TorchFFT:
    """Reference transform; `prepare` is a no-op."""

    def prepare(self, feature: Tensor) -> None:
        del feature

    def rfft2(self, x: Tensor) -> tuple[Tensor, Tensor]:
        spectrum = torch.fft.rfftn(x, dim=(-2, -1), norm="ortho")
        return spectrum.real, spectrum.imag

    def irfft2(self, real: Tensor, imag: Tensor, size: tuple[int, int]) -> Tensor:
        return torch.fft.irfftn(torch.complex(real, imag), s=size, dim=(-2, -1), norm="ortho")


def _angles(rows: Tensor, cols: Tensor, period: Tensor | int) -> Tensor:
    """2*pi*(r*c mod period)/period in fp32; the integer modulo keeps angles in [0, 2*pi)
    so fp32 stays exact to ~1e-7 rad even for 4096-wide images (fp16 angles are not)."""
    product = torch.remainder(rows[:, None] * cols[None, :], period)
    return product.to(torch.float32) * (2.0 * math.pi) / period


class MatmulDFT:
    """rfft2/irfft2 (norm="ortho") as matmuls; bases are built once per forward by `prepare`
    from the feature map's size and shared by every Fourier unit of the generator."""

    def __init__(self) -> None:
        self._bases: tuple[Tensor, Tensor, Tensor, Tensor] | None = None

    def prepare(self, feature: Tensor) -> None:
        h, w = feature.shape[-2], feature.shape[-1]
        device = feature.device
        n_w = torch.arange(w, device=device)
        k_w = torch.arange(w // 2 + 1, device=device)
        n_h = torch.arange(h, device=device)
        # as_tensor keeps h/w symbolic while tracing (torch.tensor would freeze them)
        scale_w = torch.rsqrt(torch.as_tensor(w, dtype=torch.float32, device=device))
        scale_h = torch.rsqrt(torch.as_tensor(h, dtype=torch.float32, device=device))
        ang_w = _angles(n_w, k_w, w)  # [w, w']
        ang_h = _angles(n_h, n_h, h)  # [h, h]
        # forward along W: x @ [cos | -sin] -> [re | im]
        fwd_w = torch.cat([torch.cos(ang_w), -torch.sin(ang_w)], dim=1) * scale_w
        # inverse along W (irfft): bins other than DC and Nyquist count twice
        doubled = (k_w > 0) & (2 * k_w != w)
        weight = torch.where(doubled, 2.0, 1.0).to(torch.float32)[:, None]
        inv_w = torch.cat([torch.cos(ang_w).T * weight, -torch.sin(ang_w).T * weight], dim=0) * scale_w
        cos_h = torch.cos(ang_h) * scale_h
        sin_h = torch.sin(ang_h) * scale_h
        self._bases = (fwd_w, inv_w, cos_h, sin_h)

    def _get(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        if self._bases is None:
            raise RuntimeError("MatmulDFT.prepare(feature) must run before the Fourier units")
        return self._bases

    def rfft2(self, x: Tensor) -> tuple[Tensor, Tensor]:
        fwd_w, _, cos_h, sin_h = self._get()
        half = fwd_w.shape[1] // 2
        xw = torch.matmul(x.to(torch.float32), fwd_w)  # [.., h, 2w'] = [Xr | Xi]
        p = torch.matmul(cos_h, xw)
        q = torch.matmul(sin_h, xw)
        real = p[..., :half] + q[..., half:]  # C Xr + S Xi
        imag = p[..., half:] - q[..., :half]  # C Xi - S Xr
        return real, imag

    def irfft2(self, real: Tensor, imag: Tensor, size: tuple[int, int]) -> Tensor:
        del size  # the bases already encode it
        _, inv_w, cos_h, sin_h = self._get()
        half = real.shape[-1]
        y = torch.cat([real, imag], dim=-1).to(torch.float32)
        p = torch.matmul(cos_h, y)
        q = torch.matmul(sin_h, y)
        z = torch.cat([p[..., :half] - q[..., half:], p[..., half:] + q[..., :half]], dim=-1)
        return torch.matmul(z, inv_w)
