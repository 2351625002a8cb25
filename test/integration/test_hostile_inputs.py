"""Issue 11's hostile inputs, each met by the command a user would run (`videorag bench hostile`'s
cases, run the same way: a child process under a 4 GiB address-space limit and a timeout).

Every case must end with one clear line and the right exit code: no traceback, no hang, bounded
memory. Bags with payloads in the wrong format are read to the end, their messages counted as
rejected; a FIFO as the node's snapshot is logged and the node starts anyway.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run through `make test`")

from test.conftest import REPO
from test.support.domains import child_env
from videorag_ros.bench.hostile import Case, cases, run_case

pytestmark = pytest.mark.integration

# case -> (exit code, a fragment of the first line, or of the note for cases that keep running)
EXPECTED = {
    "nan_enter_threshold": (1, "parameter 'person_ahead.enter_threshold' = nan is not a finite number"),
    "nan_logit_scale": (1, "field 'logit_scale' = nan must be a finite number"),
    "nan_std": (1, "field 'std' = [nan, 0.5, 0.5] must be 3 finite"),
    "inf_estop_heartbeat_hz": (1, "parameter 'estop_heartbeat_hz' = inf is not a finite number"),
    "nan_diagnostics_period_s": (1, "parameter 'diagnostics_period_s' = nan is not a finite number"),
    "nan_watchdog_period_s": (1, "parameter 'watchdog.period_s' = nan is not a finite number"),
    "jp2_labelled_jpeg_in_bag": (0, "3 message(s) rejected (convert), e.g. /camera/front/image_raw/compressed: payload is JPEG 2000, but the message says 'jpeg'"),
    "input_size_30000": (1, "field 'input_size' = [30000, 30000] must be 2 finite ints in [1, 2048]"),
    "yaml_billion_laughs": (1, "expands to more than 200000 values"),
    "params_dev_zero": (1, "'/dev/zero' is a character device, not a regular file"),
    "video_png_16000": (1, "frames of 16000x16000 exceed the limit 4096x4096"),
    "fifo_params_file": (1, "is a FIFO (named pipe), not a regular file"),
    "fifo_query_index": (1, "is not a regular file"),
    "fifo_snapshot_path": (0, "handled; still running"),
    "snapshot_json_100k_deep": (1, "has an unreadable header: RecursionError"),
    "snapshot_dim_2_62": (1, "has an invalid header (dim 4611686018427387904"),
    "dds_labelled_jpeg_in_bag": (0, "3 message(s) rejected (convert), e.g. /camera/front/image_raw/compressed: payload is unknown data (first bytes 44 44 53 20"),
    "check_empty_estop_topic": (1, "parameter 'estop_topic' = '' is not a valid ROS topic name: it is empty"),
    "check_invalid_topic": (1, "parameter 'front.topic' = 'camera/front image' is not a valid ROS topic name"),
    "check_nan_watchdog_period": (1, "parameter 'watchdog.period_s' = nan is not a finite number"),
    "check_capacity_1e12": (1, "parameter 'index.capacity' = 1000000000000 is above its maximum"),
    "check_unknown_model": (1, "model 'no-such-model' not found"),
    "check_prompt_without_known_words": (1, "person_ahead"),
    "binary_params": (1, "is binary (it holds NUL bytes), not YAML text"),
    "latin1_params": (1, "is not UTF-8 text (byte 0xe9"),
    "nested_params_50k": (1, "nests deeper than 64 levels"),
    "directory_as_params": (1, "is a directory, not a regular file"),
    "non_utf8_manifest": (1, "is not UTF-8 text"),
    "nested_manifest": (1, "nests deeper than 64 levels"),
    "string_input_size": (1, "field 'input_size' = '96x96' has the wrong type (expected list)"),
    "float_input_size": (1, "field 'input_size' = [96.5, 96.5] must be 2 finite ints"),
    "query_since_inf": (1, "time 'inf' is not a finite time"),
    "run_report_to_missing_dir": (2, "directory"),
    "query_sheet_to_directory": (1, "is a directory; give a file path"),
    "escape_in_snapshot_camera_name": (0, "escaped on stdout"),
}


def test_every_case_has_an_expectation() -> None:
    assert {c.name for c in cases()} == set(EXPECTED)


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_hostile_input_gets_one_clear_line(case: Case, tmp_path: Path, ros_domain: int) -> None:
    if case.name == "run_report_to_missing_dir" and not Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi").is_file():
        pytest.skip("needs Debian's opencv-doc (vtest.avi)")
    outcome = run_case(case, tmp_path, checkout=REPO, env=child_env(ros_domain))
    code, fragment = EXPECTED[case.name]
    shown = f"{outcome.first_line} | {outcome.note}"
    assert not outcome.hung, f"{case.name} hung: {shown}"
    assert not outcome.traceback, f"{case.name} printed a traceback: {shown}"
    assert outcome.exit_code == code, f"{case.name}: exit {outcome.exit_code}, expected {code}: {shown}"
    assert fragment in shown, f"{case.name}: expected {fragment!r} in: {shown}"
