"""The shipped gate on real clips, against onsets and static stretches annotated by hand.

test/data/gate_footage.yaml says how the annotations were made. Targets (issue 14), with the
gate values of the shipped config/edge.yaml at each clip's native rate (the file's own stamps):
at most 35 % of frames admitted on clips with ongoing motion, at most 15 % on static stretches,
every onset admitted within 0.3 s. opencv-doc clips are required (a missing one is an error that
says how to install it, as in test/support/footage.py); the clips in ../shared/real/ are skipped
with a reason where that directory is absent. `videorag bench gate` prints the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test.conftest import REPO
from test.support.footage import MissingFootage
from videorag_ros.bench import gate as bench_gate
from videorag_ros.core.config import GateConfig, build_edge_config, load_params_file
from videorag_ros.core.gate import FrameGate

FOOTAGE = REPO / "test" / "data" / "gate_footage.yaml"
CLIPS = {c.name: c for c in bench_gate.load_footage(FOOTAGE)}


def shipped_gate_config() -> GateConfig:
    return build_edge_config(load_params_file(REPO / "config" / "edge.yaml")).gate


def test_shipped_parameter_file_uses_the_gate_defaults() -> None:
    assert shipped_gate_config() == GateConfig()


@pytest.mark.parametrize("name", list(CLIPS))
def test_shipped_gate_meets_the_targets_on_real_footage(name: str, tmp_path: Path) -> None:
    clip = CLIPS[name]
    path = bench_gate.locate(clip, workdir=tmp_path, real_dir=bench_gate.DEFAULT_REAL_DIR)
    if path is None and clip.source == "real":
        pytest.skip(f"{clip.name}: {bench_gate.DEFAULT_REAL_DIR} is not on this machine (real clips of other projects)")
    if path is None:
        msg = f"real test footage {clip.name} is missing: install Debian's opencv-doc (apt-get install opencv-doc; .ci/run does)"
        raise MissingFootage(msg)
    run = bench_gate.run_gate(path, {"shipped": FrameGate(shipped_gate_config())})["shipped"]
    score = bench_gate.score(clip, run)
    assert score.passed, f"{name}: {'; '.join(score.reasons)} (admitted {score.admitted_share:.0%}, onset delays {score.onset_delays_s})"
    assert score.frames == clip.frames
    if clip.motion == "ongoing":
        assert score.admitted_share > 0.05  # a gate that admitted next to nothing would pass the share target too


def test_annotation_file_is_checked(tmp_path: Path) -> None:
    from videorag_ros.core.errors import ConfigError

    bad = tmp_path / "bad.yaml"
    bad.write_text("clips:\n  - {name: a.avi, source: opencv-doc, frames: 10, motion: ongoing, onsets: [[12, 'past the end']]}\n")
    with pytest.raises(ConfigError, match="every frame index inside the clip"):
        bench_gate.load_footage(bad)
    bad.write_text("clips: []\n")
    with pytest.raises(ConfigError, match="non-empty 'clips:' list"):
        bench_gate.load_footage(bad)


def test_bench_gate_prints_a_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert bench_gate.main(["--clip", "tree.avi", "--forward-ms", "40", "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    (clip,) = result["clips"]
    assert clip["clip"] == "tree.avi" and clip["shipped"]["passed"] and result["forward_ms"] == 40.0
    assert {"shipped", "plain"} <= set(clip) and clip["plain"]["frames"] == clip["shipped"]["frames"] == 68
    assert "encoder budget: 40 ms per admitted frame" in out and "tree.avi" in out
    assert bench_gate.main(["--clip", "nope.avi"]) == 1
    assert "--clip nope.avi is not in" in capsys.readouterr().err
