"""Random-weight image-text architectures for compute-cost benchmarks, and their export.

``clip-vit-b32`` is transformers' ``CLIPConfig()`` (ViT-B/32, 224², 512-d) with random
weights. ``mobileclip-s0`` approximates MobileCLIP-S0's cost: a FastViT-MCi0-shaped image
tower written here (timm, which has the real one, needs a torchvision that does not load
with the CPU torch) and a small CLIP-style text tower. Embeddings are meaningless; the
manifests say so.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from videorag_ros.core.encoder.preprocess import PreprocessSpec
from videorag_ros.core.encoder.tokenizers import CLIP_BOS_ID, CLIP_EOS_ID, CLIP_VOCAB, HFTokenizer, build_word_tokenizer
from videorag_ros.core.errors import ConfigError
from videorag_ros.toolchain.export import (
    CLIP_MEAN,
    CLIP_STD,
    REPO_MODELS,
    ExportResult,
    Progress,
    Towers,
    _check_out_dir,
    _normalised,
    _Steps,
    export_towers,
)

RANDOM_ARCHS = ("clip-vit-b32", "mobileclip-s0")


def random_init_source(arch: str) -> str:
    """The manifest ``source`` line of a random-init export."""
    return f"random-init {arch}: compute-cost benchmarks only, embeddings are meaningless"



def _random_tokenizer(context_length: int) -> HFTokenizer:
    from videorag_ros.sim import caption_vocabulary, class_prompts

    words = [*caption_vocabulary(), *(p for ps in class_prompts().values() for p in ps)]
    return build_word_tokenizer(words, context_length)


def _clip_text_defaults(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    text = dict((overrides or {}).get("text_config", {}))
    # CLIP's vocabulary size and special-token ids: the word tokenizer reuses them.
    text.update(vocab_size=CLIP_VOCAB, bos_token_id=CLIP_BOS_ID, eos_token_id=CLIP_EOS_ID, pad_token_id=CLIP_EOS_ID)
    return text


def _random_clip(seed: int, overrides: Mapping[str, Any] | None) -> Towers:
    import torch
    from transformers import CLIPConfig, CLIPModel

    over = dict(overrides or {})
    cfg: Any = CLIPConfig(
        text_config=_clip_text_defaults(over), vision_config=dict(over.get("vision_config", {})), projection_dim=int(over.get("projection_dim", 512))
    )
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model: Any = CLIPModel(cfg)
        model.eval()
    size = int(cfg.vision_config.image_size)
    desc = (
        f"CLIP ViT-B/32 architecture (transformers CLIPConfig defaults{' with overrides ' + json.dumps(over, sort_keys=True) if over else ''}: "
        f"{size}x{size} input, patch {cfg.vision_config.patch_size}, {cfg.projection_dim}-d) with random weights and a word-level "
        "tokenizer; compute-cost benchmarks only"
    )
    return Towers(
        image=_normalised(model, "image"),
        text=_normalised(model, "text"),
        tokenizer=_random_tokenizer(int(cfg.text_config.max_position_embeddings)),
        preprocess=PreprocessSpec(size, size, CLIP_MEAN, CLIP_STD, "shorter_side_center_crop"),
        embedding_dim=int(cfg.projection_dim),
        logit_scale=float(math.exp(float(model.logit_scale.detach()))),
        model_type="clip",
        source=random_init_source("clip-vit-b32"),
        description=desc,
        licence="n/a (random weights)",
    )


def _random_mobileclip(seed: int, overrides: Mapping[str, Any] | None) -> Towers:
    import torch
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    over = dict(overrides or {})
    size, dim = int(over.get("image_size", 256)), int(over.get("projection_dim", 512))
    text_cfg = {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 4, "num_attention_heads": 8, "max_position_embeddings": 77}
    text_cfg.update(_clip_text_defaults(over))
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = _mci0_approx(dim)
        text_config: Any = CLIPTextConfig  # transformers types its keyword arguments too narrowly for a dict
        text_model: Any = CLIPTextModelWithProjection(text_config(**text_cfg, projection_dim=dim, attn_implementation="eager"))
        text_model.eval()
    desc = (
        f"Approximation of Apple MobileCLIP-S0 for compute-cost benchmarks, random weights. Image: {MCI0_APPROX}; "
        f"{size}x{size} input, projection to {dim}. Text: a CLIP-style causal transformer "
        f"({text_cfg['num_hidden_layers']} layers, width {text_cfg['hidden_size']}, context {text_cfg['max_position_embeddings']}) "
        "standing in for MobileCLIP-S0's MCt text encoder (not its RepMixer/attention hybrid). Word-level tokenizer."
    )
    return Towers(
        image=_normalised(image, "plain"),
        text=_normalised(text_model, "text_proj"),
        tokenizer=_random_tokenizer(int(text_cfg["max_position_embeddings"])),
        preprocess=PreprocessSpec(size, size, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "shorter_side_center_crop"),
        embedding_dim=dim,
        logit_scale=100.0,
        model_type="mobileclip-s0-approx",
        source=random_init_source("mobileclip-s0"),
        description=desc,
        licence="n/a (random weights)",
    )


def random_init(arch: str, *, seed: int = 0, overrides: Mapping[str, Any] | None = None) -> Towers:
    """Build an architecture with random weights, for compute-cost benchmarks.

    Args:
        arch: ``clip-vit-b32`` (transformers ``CLIPConfig()`` defaults: ViT-B/32, 224², 512-d) or
            ``mobileclip-s0`` (a MobileCLIP-S0-class approximation: FastViT-MCi0-shaped image tower
            at 256², projection to 512, small text transformer).
        seed: Torch seed for the weights.
        overrides: Configuration overrides (``text_config``/``vision_config``/``projection_dim`` for
            CLIP; ``image_size``/``projection_dim``/``text_config`` for MobileCLIP). Tests use it for
            tiny models.

    Returns:
        The towers; their manifest ``source`` says the embeddings are meaningless.

    Raises:
        ConfigError: Unknown architecture.
    """
    if arch == "clip-vit-b32":
        return _random_clip(seed, overrides)
    if arch == "mobileclip-s0":
        return _random_mobileclip(seed, overrides)
    msg = f"random-init architecture '{arch}' is not one of {', '.join(RANDOM_ARCHS)}"
    raise ConfigError(msg)


# --------------------------------------------------------------------------- MobileCLIP-S0-class image tower

MCI0_APPROX = (
    "FastViT-MCi0-shaped network written here in inference (re-parameterised) form because timm's "
    "fastvit_mci0 could not be installed without replacing torch: conv stem /4, stages of "
    "2/6/10/2 blocks at 64/128/256/512 channels (RepMixer depthwise-3x3 token mixing + ConvFFN "
    "ratio 3 in stages 1-3; conditional positional encoding + multi-head self-attention in stage 4), "
    "7x7 depthwise large-kernel downsampling with squeeze-excite in stages 3-4, 3x3 depthwise "
    "expansion to 1024, global average pool"
)


def _mci0_approx(dim: int) -> Any:
    """The MobileCLIP-S0-class image tower (see ``MCI0_APPROX``), random weights."""
    import torch
    from torch import nn

    def conv(cin: int, cout: int, k: int, s: int = 1, groups: int = 1) -> nn.Conv2d:
        # Variance-preserving weights and zero biases: with PyTorch's default init the biases
        # dominate the small activations and every image gets the same embedding.
        m = nn.Conv2d(cin, cout, k, s, k // 2, groups=groups)
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        if m.bias is not None:
            nn.init.zeros_(m.bias)
        return m

    class SqueezeExcite(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), conv(c, c // 4, 1), nn.ReLU(), conv(c // 4, c, 1), nn.Sigmoid())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return cast("torch.Tensor", x * self.fc(x))

    class ConvFFN(nn.Module):
        def __init__(self, c: int, ratio: int = 3) -> None:
            super().__init__()
            self.net = nn.Sequential(conv(c, c, 7, groups=c), conv(c, c * ratio, 1), nn.GELU(), conv(c * ratio, c, 1))
            with torch.no_grad():
                cast("nn.Conv2d", self.net[-1]).weight.mul_(0.1)  # layer scale, folded into the last conv

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return cast("torch.Tensor", x + self.net(x))

    def folded_identity(c: int, k: int) -> nn.Conv2d:  # a re-parameterised "x + dwconv(x)" branch
        m = conv(c, c, k, groups=c)
        with torch.no_grad():
            m.weight.mul_(0.1 / math.sqrt(2.0 / (k * k)))
            m.weight[:, :, k // 2, k // 2] += 1.0
        return m

    class RepMixer(nn.Module):  # inference form: one depthwise conv with the identity folded in
        def __init__(self, c: int) -> None:
            super().__init__()
            self.mix = folded_identity(c, 3)
            self.ffn = ConvFFN(c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return cast("torch.Tensor", self.ffn(self.mix(x)))

    class Attention(nn.Module):
        def __init__(self, c: int, head_dim: int = 32) -> None:
            super().__init__()
            self.heads, self.scale = c // head_dim, head_dim**-0.5
            self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
            for lin in (self.qkv, self.proj):
                nn.init.zeros_(lin.bias)
            self.ffn = ConvFFN(c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, c, h, w = x.shape
            t = x.flatten(2).transpose(1, 2)
            q, k, v = self.qkv(t).reshape(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            a = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, dim=-1)
            y = self.proj(torch.matmul(a, v).transpose(1, 2).reshape(b, h * w, c))
            return cast("torch.Tensor", self.ffn(x + y.transpose(1, 2).reshape(b, c, h, w)))

    def downsample(cin: int, cout: int, se: bool) -> nn.Sequential:
        layers: list[nn.Module] = [conv(cin, cout, 7, 2, groups=cin), nn.GELU()]
        if se:
            layers.append(SqueezeExcite(cout))
        return nn.Sequential(*layers, conv(cout, cout, 1), nn.GELU())

    dims, depths = (64, 128, 256, 512), (2, 6, 10, 2)
    layers: list[nn.Module] = [conv(3, 64, 3, 2), nn.GELU(), conv(64, 64, 3, 2, groups=64), nn.GELU(), conv(64, 64, 1), nn.GELU()]
    for i, (c, n) in enumerate(zip(dims, depths, strict=True)):
        if i > 0:
            layers.append(downsample(dims[i - 1], c, se=i >= 2))
        if i == 3:
            layers += [folded_identity(c, 7)] + [Attention(c) for _ in range(n)]  # positional conv, then attention
        else:
            layers += [RepMixer(c) for _ in range(n)]
    head = nn.Linear(1024, dim)
    nn.init.zeros_(head.bias)
    layers += [conv(512, 1024, 3, groups=512), SqueezeExcite(1024), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(1), head]
    return nn.Sequential(*layers).eval()


def export_random_init(
    arch: str,
    out_dir: str | Path | None = None,
    *,
    name: str | None = None,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Build ``arch`` with random weights and export it (see ``random_init``, ``export_towers``)."""
    name = name or f"random-{arch}"
    out = Path(out_dir) if out_dir else REPO_MODELS / name
    _check_out_dir(out)
    steps = _Steps(5, progress)
    with steps.step(f"load: build {arch} with random weights"):
        towers = random_init(arch, seed=seed, overrides=overrides)
    return export_towers(towers, out, name=name, progress=progress, _steps=steps)
