"""Train the watermark segmenter on synthetic composites (CPU, bounded time, seeded).

A fixed pool of training-split composites (export.segmenter_data: two scales, a share
recoloured to low contrast, a share JPEG-compressed) is drawn from the seed; each step takes random crops and flips
of pool items. With the same seed and step count
the run is reproducible on one machine; `minutes` only caps wall time (a run it cuts short
records the steps it reached). The result is the served graph (segmenter.ServedSegmenter)
as ONNX plus a JSON recipe next to it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from lama_serve.export.segmenter import (
    SegNet,
    export_segmenter,
    normalise,
    parameter_count,
)
from lama_serve.export.segmenter_data import make_pool, sample_batch

WEIGHTS = Path(__file__).resolve().parents[1] / "detect" / "weights" / "watermark_seg.onnx"


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    steps: int = 300
    minutes: float = 7.0
    pool: int = 1000
    sides: tuple[int, ...] = (256, 512)
    low_contrast: float = 0.25
    jpeg: float = 0.0
    crop: int = 160
    batch: int = 8
    learning_rate: float = 3e-3
    pos_weight: float = 3.0
    threads: int = 2


def loss_fn(logits: torch.Tensor, target: torch.Tensor, pos_weight: float) -> torch.Tensor:
    """BCE (marks are a few % of pixels, so positives weigh more) plus soft Dice (recall
    of whole marks counts as much as the pixels' calibration)."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(pos_weight))
    probability = torch.sigmoid(logits)
    dice = 1 - (2 * (probability * target).sum() + 1) / (probability.sum() + target.sum() + 1)
    return bce + dice


def train(config: TrainConfig, progress: Callable[[str], None] = print) -> tuple[SegNet, dict]:
    """Train from scratch; returns the net (eval mode) and the run's metadata."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    started = time.monotonic()
    pool = make_pool(rng, config.pool, config.sides, config.low_contrast, config.jpeg)
    progress(f"pool of {len(pool)} composites in {time.monotonic() - started:.0f} s")
    net = SegNet()
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=config.steps)
    deadline = started + 60 * config.minutes
    step, running = 0, 0.0
    while step < config.steps and time.monotonic() < deadline:
        batch, target = sample_batch(rng, pool, config.batch, config.crop)
        loss = loss_fn(net(normalise(batch)), target, config.pos_weight)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        step += 1
        running = 0.95 * running + 0.05 * loss.item() if step > 1 else loss.item()
        if step % 50 == 0:
            progress(f"step {step}/{config.steps} loss {running:.3f} ({time.monotonic() - started:.0f} s)")
    metadata = {
        "config": asdict(config),
        "steps_done": step,
        "completed": step == config.steps,
        "seconds": round(time.monotonic() - started, 1),
        "parameters": parameter_count(net),
        "final_loss": round(running, 4),
        "torch": torch.__version__,
    }
    return net.eval(), metadata


def train_and_export(config: TrainConfig, output: Path = WEIGHTS, progress: Callable[[str], None] = print) -> dict:
    """Train, then write `output` (ONNX) and `output` with suffix .json (the recipe)."""
    net, metadata = train(config, progress)
    export_segmenter(net, output)
    metadata["onnx_bytes"] = output.stat().st_size
    output.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata
