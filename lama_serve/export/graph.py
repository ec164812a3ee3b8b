"""The whole served computation as one module: uint8 NHWC in, uint8 NHWC out.

Scaling, mask binarisation, hole zeroing, the generator and the composite all live in the
graph, so every runtime (ORT, TensorRT, Triton) serves exactly the same contract.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class InpaintingGraph(nn.Module):
    """`image` [N,H,W,3] uint8 and `mask` [N,H,W,1] uint8 (>0 = inpaint) -> `inpainted`."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def predict(self, image: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(prediction in [0,1], image in [0,1], binary mask), all NCHW float32."""
        img = image.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        hole = (mask.permute(0, 3, 1, 2) > 0).to(torch.float32)
        pred = self.generator(torch.cat([img * (1.0 - hole), hole], dim=1))
        return pred.to(torch.float32), img, hole

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        pred, img, hole = self.predict(image, mask)
        # unmasked pixels: (1-0)*k/255*255 rounds back to k exactly
        out = hole * pred + (1.0 - hole) * img
        out = torch.round(torch.clamp(out * 255.0, 0.0, 255.0)).to(torch.uint8)
        return out.permute(0, 2, 3, 1)
