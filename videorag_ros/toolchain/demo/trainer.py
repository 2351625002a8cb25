"""The time-boxed contrastive training loop of videorag-tiny (torch).

Loss: symmetric InfoNCE with multi-positive targets, half the target mass on
the exact image-caption pair and half spread over every pair of the same
class, so captions' attributes still matter. The learning rate follows a
warm-up plus cosine schedule over the wall-time budget, so a run ends on time
whatever the machine. Progress goes to stderr.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from videorag_ros.core.encoder.preprocess import preprocess_batch
from videorag_ros.core.encoder.tokenizer import WordTokenizer
from videorag_ros.sim import CLASSES, PARAPHRASES, caption, caption_vocabulary, class_prompts
from videorag_ros.toolchain.demo.data import PREPROCESS, SceneSet
from videorag_ros.toolchain.demo.model import DualEncoder

CONTEXT_LENGTH = 24
EXACT_PAIR_WEIGHT = 0.5


def log(msg: str) -> None:
    """Print a progress line to stderr (the training CLI's output channel)."""
    print(msg, file=sys.stderr, flush=True)


def fmt_duration(seconds: float) -> str:
    """``"12m05s"``."""
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60):d}m{int(seconds % 60):02d}s"


def build_tokenizer() -> WordTokenizer:
    """The demo vocabulary: every caption/prompt word plus the paraphrase words."""
    extra = [p for ps in PARAPHRASES.values() for p in ps]
    return WordTokenizer.from_words([*caption_vocabulary(), *extra], CONTEXT_LENGTH)


def contrastive_loss(img: torch.Tensor, txt: torch.Tensor, labels: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE where same-class pairs are (weaker) positives.

    Args:
        img: ``(B, D)`` unit image embeddings.
        txt: ``(B, D)`` unit text embeddings, row ``i`` describes image ``i``.
        labels: ``(B,)`` class ids.
        scale: Logit scale.

    Returns:
        Scalar loss.
    """
    logits = scale * img @ txt.T
    same = (labels[:, None] == labels[None, :]).to(logits.dtype)
    target = EXACT_PAIR_WEIGHT * torch.eye(len(labels), dtype=logits.dtype) + (1 - EXACT_PAIR_WEIGHT) * same / same.sum(1, keepdim=True)
    loss_i = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    loss_t = -(target.T * F.log_softmax(logits.T, dim=1)).sum(1).mean()
    return 0.5 * (loss_i + loss_t)


@torch.no_grad()
def zero_shot_accuracy(model: DualEncoder, tok: WordTokenizer, pixels: torch.Tensor, labels: np.ndarray) -> float:
    """Zero-shot accuracy of the torch model over the class prompts."""
    was_training = model.training
    model.eval()
    prompts = class_prompts()
    cls = torch.stack([F.normalize(model.text(torch.from_numpy(tok.encode(prompts[c]))).mean(0), dim=0) for c in CLASSES])
    img = torch.cat([model.image(pixels[i : i + 256]) for i in range(0, len(pixels), 256)])
    acc = float(((img @ cls.T).argmax(1).numpy() == labels).mean())
    model.train(was_training)
    return acc


def _lr_factor(progress: float, warmup: float = 0.03) -> float:
    if progress < warmup:
        return progress / warmup
    p = min(1.0, (progress - warmup) / (1 - warmup))
    return 0.04 + 0.96 * 0.5 * (1 + math.cos(math.pi * p))


def train(
    model: DualEncoder,
    tok: WordTokenizer,
    data: SceneSet,
    val: SceneSet,
    *,
    minutes: float,
    batch_size: int,
    lr: float,
    seed: int,
) -> dict[str, float]:
    """Time-boxed training loop.

    Returns:
        Summary: steps, epochs, seconds, final loss, final validation accuracy.
    """
    rng = np.random.default_rng([seed, 7])
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "position" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1 or "position" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    val_pixels = torch.from_numpy(preprocess_batch(list(val.frames), PREPROCESS))
    budget = minutes * 60.0
    start = time.perf_counter()
    last_log = last_val = start
    step = epoch = 0
    loss_avg = float("nan")
    val_acc = float("nan")
    model.train()
    done = False
    while not done:
        order = rng.permutation(len(data))
        for b in range(0, len(order) - batch_size + 1, batch_size):
            now = time.perf_counter()
            progress = (now - start) / budget
            if progress >= 1.0:
                done = True
                break
            for group in opt.param_groups:
                group["lr"] = lr * _lr_factor(progress)
            idx = order[b : b + batch_size]
            pixels = torch.from_numpy(preprocess_batch(list(data.frames[idx]), PREPROCESS))
            ids = torch.from_numpy(tok.encode([caption(data.specs[i], rng) for i in idx]))
            labels = torch.from_numpy(data.labels[idx])
            loss = contrastive_loss(model.image(pixels), model.text(ids), labels, model.scale())
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call,unused-ignore]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
            opt.step()
            step += 1
            value = float(loss.detach())
            loss_avg = value if math.isnan(loss_avg) else 0.95 * loss_avg + 0.05 * value
            now = time.perf_counter()
            if now - last_val >= 90.0:
                val_acc = zero_shot_accuracy(model, tok, val_pixels, val.labels)
                last_val = now
            if now - last_log >= 30.0:
                elapsed = now - start
                log(
                    f"epoch {epoch + b / len(order):5.2f}  step {step:5d}  loss {loss_avg:.3f}  "
                    f"scale {float(model.scale().detach()):5.1f}  val zero-shot {val_acc:.3f}  "
                    f"lr {opt.param_groups[0]['lr']:.2e}  elapsed {fmt_duration(elapsed)}  eta {fmt_duration(budget - elapsed)}"
                )
                last_log = now
        epoch += 1
    seconds = time.perf_counter() - start
    val_acc = zero_shot_accuracy(model, tok, val_pixels, val.labels)
    log(f"training done: {step} steps, {step * batch_size / len(data):.2f} epochs, {fmt_duration(seconds)}, loss {loss_avg:.3f}, val zero-shot {val_acc:.3f}")
    return {"steps": step, "epochs": step * batch_size / len(data), "seconds": seconds, "loss": loss_avg, "val_zero_shot": val_acc}
