"""The videorag-tiny towers: a small CNN for images, a 2-layer transformer for text.

Both towers end with L2 normalisation inside the module, so the exported ONNX
graphs emit unit vectors and run-time code only takes dot products. The
transformer is written with plain ops (no fused attention kernels) so it
exports cleanly to ONNX opset 17 and quantizes as ordinary MatMuls.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Sizes of both towers.

    Attributes:
        embedding_dim: Shared embedding size.
        image_size: Square image input side in pixels.
        widths: Channels of the four CNN stages (each stage halves the resolution).
        vocab_size: Text vocabulary size (special tokens included).
        context_length: Token sequence length.
        text_width: Transformer width.
        text_layers: Transformer layers.
        text_heads: Attention heads.
        pad_id: Padding token id (masked out of attention and pooling).
    """

    embedding_dim: int = 256
    image_size: int = 96
    widths: tuple[int, int, int, int] = (24, 48, 96, 192)
    vocab_size: int = 160
    context_length: int = 24
    text_width: int = 128
    text_layers: int = 2
    text_heads: int = 4
    pad_id: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly dict."""
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ImageTower(nn.Module):
    """CNN: four stride-2 stages to a 6x6 map, kept spatial (position matters), projected to D.

    Input ``(N, 3, S, S)`` normalised RGB, output ``(N, D)`` unit vectors.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        w0, w1, w2, w3 = cfg.widths
        self.features = nn.Sequential(
            _conv(3, w0, 2),
            _conv(w0, w0, 1),
            _conv(w0, w1, 2),
            _conv(w1, w1, 1),
            _conv(w1, w2, 2),
            _conv(w2, w2, 1),
            _conv(w2, w3, 2),
            _conv(w3, w3, 1),
        )
        side = cfg.image_size // 16
        self.reduce = nn.Sequential(nn.Conv2d(w3, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.pooled = nn.Linear(w3, cfg.embedding_dim)
        self.spatial = nn.Linear(64 * side * side, cfg.embedding_dim)
        self.dropout = nn.Dropout(0.1)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Embed images; returns L2-normalised ``(N, D)``."""
        x = self.features(pixel_values)
        pooled = self.pooled(x.mean(dim=(2, 3)))
        spatial = self.spatial(self.dropout(torch.flatten(self.reduce(x), 1)))
        return F.normalize(pooled + spatial, dim=-1)


class _Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        n, length, width = x.shape
        hd = width // self.heads
        q, k, v = self.qkv(self.ln1(x)).reshape(n, length, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + key_bias
        y = torch.matmul(att.softmax(dim=-1), v).transpose(1, 2).reshape(n, length, width)
        x = x + self.out(y)
        out: torch.Tensor = x + self.mlp(self.ln2(x))
        return out


class TextTower(nn.Module):
    """Token + position embeddings, pre-norm transformer, masked mean pool, projection.

    Input ``(N, L)`` int64 ids, output ``(N, D)`` unit vectors.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.pad_id = cfg.pad_id
        self.token = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.position = nn.Parameter(torch.randn(cfg.context_length, cfg.text_width) * 0.02)
        self.blocks = nn.ModuleList(_Block(cfg.text_width, cfg.text_heads) for _ in range(cfg.text_layers))
        self.ln = nn.LayerNorm(cfg.text_width)
        self.proj = nn.Linear(cfg.text_width, cfg.embedding_dim)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Embed token ids; returns L2-normalised ``(N, D)``."""
        mask = (input_ids != self.pad_id).to(torch.float32)  # (N, L)
        key_bias = ((1.0 - mask) * -1e4)[:, None, None, :]
        x = self.token(input_ids) + self.position[None, : input_ids.shape[1]]
        for block in self.blocks:
            x = block(x, key_bias)
        x = self.ln(x)
        pooled = (x * mask[:, :, None]).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        return F.normalize(self.proj(pooled), dim=-1)


class DualEncoder(nn.Module):
    """Both towers plus the learnable temperature."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.image = ImageTower(cfg)
        self.text = TextTower(cfg)
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))

    def scale(self) -> torch.Tensor:
        """``exp(log_scale)`` clamped to at most 100."""
        scale: torch.Tensor = self.log_scale.clamp(max=math.log(100.0)).exp()
        return scale


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
