"""Train the watermark segmenter on synthetic composites (CPU, bounded time, seeded).

A fixed pool of training-split composites (lama_serve.detect.synth) is drawn from the seed;
each step takes random crops and flips of pool items. With the same seed and step count
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

from lama_serve.detect import synth
from lama_serve.export.segmenter import (
    SegNet,
    export_segmenter,
    normalise,
    parameter_count,
)

WEIGHTS = Path(__file__).resolve().parents[1] / "detect" / "weights" / "watermark_seg.onnx"


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    steps: int = 300
    minutes: float = 7.0
    pool: int = 1200
    composite_side: int = 256
    crop: int = 128
    batch: int = 8
    learning_rate: float = 3e-3
    threads: int = 2


def make_pool(rng: np.random.Generator, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """`pool` composites of every kind (clean included): images uint8 NHWC, masks float N1HW."""
    side = (config.composite_side, config.composite_side)
    items = [synth.make_composite(rng, synth.KINDS[i % len(synth.KINDS)], "train", side)
             for i in range(config.pool)]
    images = np.stack([c.image for c in items])
    masks = np.stack([c.mask for c in items])[:, None].astype(np.float32)
    return images, masks


def sample_batch(rng: np.random.Generator, images: np.ndarray, masks: np.ndarray,
                 config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crops (with vertical/horizontal flips) of random pool items."""
    picks = rng.integers(0, len(images), config.batch)
    limit = config.composite_side - config.crop + 1
    xs, ys = [], []
    for index in picks:
        y, x = rng.integers(0, limit, 2)
        image = images[index, y:y + config.crop, x:x + config.crop]
        mask = masks[index, :, y:y + config.crop, x:x + config.crop]
        if rng.random() < 0.5:
            image, mask = image[::-1], mask[:, ::-1]
        xs.append(np.ascontiguousarray(image))
        ys.append(np.ascontiguousarray(mask))
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE (marks are a few % of pixels, so positives weigh more) plus soft Dice."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target, pos_weight=torch.tensor(3.0))
    probability = torch.sigmoid(logits)
    dice = 1 - (2 * (probability * target).sum() + 1) / (probability.sum() + target.sum() + 1)
    return bce + dice


def train(config: TrainConfig, progress: Callable[[str], None] = print) -> tuple[SegNet, dict]:
    """Train from scratch; returns the net (eval mode) and the run's metadata."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    started = time.monotonic()
    images, masks = make_pool(rng, config)
    progress(f"pool of {len(images)} composites in {time.monotonic() - started:.0f} s")
    net = SegNet()
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=config.steps)
    deadline = started + 60 * config.minutes
    step, running = 0, 0.0
    while step < config.steps and time.monotonic() < deadline:
        batch, target = sample_batch(rng, images, masks, config)
        loss = loss_fn(net(normalise(batch)), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        step += 1
        running = 0.95 * running + 0.05 * loss.item() if step > 1 else loss.item()
        if step % 50 == 0:
            progress(f"step {step}/{config.steps} loss {running:.3f} ({time.monotonic() - started:.0f} s)")
    metadata = {"config": asdict(config), "steps_done": step, "completed": step == config.steps,
                "seconds": round(time.monotonic() - started, 1), "parameters": parameter_count(net),
                "final_loss": round(running, 4), "torch": torch.__version__}
    return net.eval(), metadata


def train_and_export(config: TrainConfig, output: Path = WEIGHTS,
                     progress: Callable[[str], None] = print) -> dict:
    """Train, then write `output` (ONNX) and `output` with suffix .json (the recipe)."""
    net, metadata = train(config, progress)
    export_segmenter(net, output)
    metadata["onnx_bytes"] = output.stat().st_size
    output.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata
