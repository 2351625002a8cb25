"""Export of CLIP-architecture models to ONNX + manifest, end to end on a deliberately tiny config.

torch/transformers run in a subprocess: other unit tests check that the test process never
imports torch (the run-time path must not need it). The ONNX side is checked here, in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test.conftest import REPO
from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.core.encoder.encoder import load_encoder
from videorag_ros.core.encoder.manifest import load_manifest
from videorag_ros.core.encoder.tokenizers import CLIP_BOS_ID, CLIP_EOS_ID, HFTokenizer, load_tokenizer
from videorag_ros.core.errors import ConfigError, ModelLoadError
from videorag_ros.toolchain.export import MIN_EXPORT_COSINE, PROTECTED_DIRS, export_checkpoint
from videorag_ros.toolchain.random_init import export_random_init, random_init, random_init_source

TINY = {
    "text_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": 16},
    "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
    "projection_dim": 16,
}
PROMPTS = ["a person in front of the robot", "an empty corridor"]

# Runs in a fresh interpreter: export (random-init and from a saved checkpoint directory) and
# torch embeddings of the same weights for the in-process comparison.
WORKER = r"""
import json, sys
from pathlib import Path
import numpy as np, torch
from videorag_ros.bench.rigs.patterns import pattern_frame
from videorag_ros.toolchain.export import export_checkpoint
from videorag_ros.toolchain.random_init import export_random_init, random_init
from videorag_ros.core.encoder.manifest import load_manifest
from videorag_ros.core.encoder.preprocess import preprocess_batch
from videorag_ros.core.encoder.tokenizers import build_word_tokenizer, load_tokenizer

root, tiny, prompts = Path(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
lines = []
res = export_random_init("clip-vit-b32", root / "tiny-clip", name="tiny-clip", overrides=tiny, progress=lines.append)
m = load_manifest(str(res.directory))
frames = [pattern_frame("disk"), pattern_frame("stripes", width=640, height=480), pattern_frame("disk", seed=3)]
towers = random_init("clip-vit-b32", overrides=tiny)  # same seed: same weights
with torch.no_grad():
    img = towers.image(torch.from_numpy(preprocess_batch(frames, m.image.preprocess))).numpy()
    txt = towers.text(torch.from_numpy(load_tokenizer(m).encode(prompts))).numpy()
np.savez(root / "torch.npz", image=img, text=txt)

from transformers import CLIPConfig, CLIPModel
ckpt = root / "ckpt"
special = {"vocab_size": 49408, "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 49407}
cfg = CLIPConfig(text_config={**tiny["text_config"], **special}, vision_config=tiny["vision_config"], projection_dim=16)
torch.manual_seed(1)
CLIPModel(cfg).save_pretrained(str(ckpt))
build_word_tokenizer(["a red box person corridor"], 16).save(ckpt / "tokenizer.json")
(ckpt / "tokenizer_config.json").write_text(json.dumps({"pad_token": "<|endoftext|>"}))
(ckpt / "preprocessor_config.json").write_text(json.dumps({"image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.2, 0.2], "do_center_crop": True}))
ck = export_checkpoint(ckpt, root / "ckpt-out", licence="MIT")
print(json.dumps({"lines": lines, "cos": [res.image_cosine, res.text_cosine], "ckpt_cos": [ck.image_cosine, ck.text_cosine]}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    pytest.importorskip("transformers")  # a requirement; skipped only on a broken environment
    root = tmp_path_factory.mktemp("export")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(root), json.dumps(TINY), json.dumps(PROMPTS)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, json.loads(proc.stdout.strip().splitlines()[-1])


def test_export_writes_verified_onnx_pair_and_manifest(exported: tuple[Path, dict[str, Any]]) -> None:
    root, info = exported
    directory = root / "tiny-clip"
    assert {"image_fp32.onnx", "text_fp32.onnx", "tokenizer.json", "manifest.yaml"} <= {p.name for p in directory.iterdir()}
    assert min(info["cos"]) >= MIN_EXPORT_COSINE
    m = load_manifest(str(directory))  # sha256 of every file checked
    assert m.name == "tiny-clip" and m.embedding_dim == 16 and m.precision == "fp32"
    assert m.source == random_init_source("clip-vit-b32") == "random-init clip-vit-b32: compute-cost benchmarks only, embeddings are meaningless"
    assert m.image.preprocess.height == 32 and m.image.preprocess.resize == "shorter_side_center_crop"
    assert m.text is not None and m.text.context_length == 16
    assert m.raw["tokenizer"]["type"] == "hf" and m.logit_scale == pytest.approx(np.exp(2.6592), rel=1e-3)
    assert m.raw["export"]["opset"] == 17 and m.raw["export"]["verify_image_cosine_min"] >= 0.999
    assert [s.split("]")[0] for s in info["lines"] if s.endswith("...")] == ["[1/5", "[2/5", "[3/5", "[4/5", "[5/5"]


def test_exported_model_encodes_and_matches_torch(exported: tuple[Path, dict[str, Any]]) -> None:
    root, _ = exported
    enc = load_encoder(str(root / "tiny-clip"), backend="cpu")
    frames = [pattern_frame("disk"), pattern_frame("stripes", width=640, height=480), pattern_frame("disk", seed=3)]
    img = enc.encode_images(frames).vectors
    txt = enc.encode_texts(PROMPTS)
    assert img.shape == (3, 16) and txt.shape == (2, 16)  # batch 3 though traced at batch 2: dynamic axis
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, rtol=1e-5)
    ref = np.load(root / "torch.npz")
    assert float((img * ref["image"]).sum(axis=1).min()) >= 0.999
    assert float((txt * ref["text"]).sum(axis=1).min()) >= 0.999


def test_hf_tokenizer_pads_truncates_and_reports(exported: tuple[Path, dict[str, Any]]) -> None:
    root, _ = exported
    tok = load_tokenizer(load_manifest(str(root / "tiny-clip")))
    assert isinstance(tok, HFTokenizer)
    ids = tok.encode(["a red box", " ".join(["box"] * 40)])
    assert ids.shape == (2, 16) and ids.dtype == np.int64
    assert ids[0, 0] == CLIP_BOS_ID and ids[0, 4] == CLIP_EOS_ID and ids[0, -1] == CLIP_EOS_ID  # bos a red box eos pad...
    assert ids[1, -1] == CLIP_EOS_ID  # truncation keeps the EOS the text tower pools at
    assert tok.unknown_words("a zebra near the box") == ["zebra"]
    with pytest.raises(TypeError):
        tok.encode("not a list")  # type: ignore[arg-type]


def test_word_tokenizer_still_used_for_word_manifests(tiny_model_dir: Path) -> None:
    from videorag_ros.core.encoder.tokenizer import WordTokenizer

    assert isinstance(load_tokenizer(load_manifest(str(tiny_model_dir))), WordTokenizer)


def test_checkpoint_export_from_local_directory(exported: tuple[Path, dict[str, Any]]) -> None:
    root, info = exported
    m = load_manifest(str(root / "ckpt-out"))
    assert m.name == "ckpt" and m.licence == "MIT" and m.source == f"{(root / 'ckpt').resolve()} (clip)"
    assert m.image.preprocess.mean == (0.5, 0.4, 0.3) and m.image.preprocess.resize == "shorter_side_center_crop"
    assert min(info["ckpt_cos"]) >= 0.999
    assert load_encoder(str(root / "ckpt-out"), backend="cpu").encode_texts(["a red box"]).shape == (1, 16)


def test_export_refuses_bad_inputs(tmp_path: Path) -> None:
    # every check below fires before torch/transformers are imported
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        export_checkpoint(tmp_path, tmp_path / "o")
    with pytest.raises(ConfigError, match="not one of"):
        random_init("vit-h14")
    with pytest.raises(ConfigError, match="committed demo model"):
        export_random_init("clip-vit-b32", PROTECTED_DIRS[0], overrides=TINY)
    assert "torch" not in sys.modules
