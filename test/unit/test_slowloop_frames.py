"""slowloop frames: the bounded frame cache, picking K frames around the best one, request packing."""

from __future__ import annotations

import base64
import itertools

import numpy as np

from videorag_ros.slowloop.frame_cache import CachedFrame, FrameCache, downscale, pick_around
from videorag_ros.slowloop.packing import chat_messages, encode_jpeg, request_bytes

MS = 1_000_000


def test_cache_thins_downscales_and_forgets() -> None:
    cache = FrameCache(width=64, keep_s=2.0, max_per_camera=6, min_interval_s=0.2)
    rgb = np.zeros((120, 160, 3), np.uint8)
    kept = [cache.add("front", i * 100 * MS, i, rgb) for i in range(50)]  # 10 Hz for 5 s
    assert kept[:4] == [True, False, True, False] and cache.thinned == 25
    assert cache.add("front", 4850 * MS, 99, rgb, keep=True)  # a trigger's frame is never thinned
    frames = cache.window("front")
    assert len(frames) == 6  # 2 s at 5 Hz would be 10: the count bound wins
    assert frames[-1].stamp_ns == 4850 * MS and all(b.stamp_ns > a.stamp_ns for a, b in itertools.pairwise(frames))
    assert frames[0].jpeg.startswith(b"\xff\xd8")
    assert cache.window("rear") == [] and cache.latest("rear") is None and cache.cameras() == ["front"]
    assert downscale(rgb, 64).shape == (48, 64, 3) and downscale(rgb, 400).shape == (120, 160, 3)  # never enlarged


def test_cache_keeps_out_of_order_frames_sorted() -> None:
    cache = FrameCache(width=32, keep_s=60.0, min_interval_s=0.0)
    rgb = np.zeros((8, 8, 3), np.uint8)
    for t in (5, 1, 3, 2, 4):
        cache.add("c", t * 1000 * MS, t, rgb)
    assert [f.seq for f in cache.window("c")] == [1, 2, 3, 4, 5]
    assert [f.seq for f in cache.window("c", 2000 * MS, 4000 * MS)] == [2, 3, 4]


def test_pick_around_spreads_and_always_includes_the_best() -> None:
    frames = [CachedFrame("c", i * MS, i, b"") for i in range(20)]
    assert [f.seq for f in pick_around(frames, 0, 4)] == [0, 6, 13, 19]
    picked = [f.seq for f in pick_around(frames, 9 * MS, 4)]
    assert 9 in picked and len(picked) == 4 and picked == sorted(picked)
    assert [f.seq for f in pick_around(frames[:3], 0, 8)] == [0, 1, 2]


def test_chat_messages_follow_the_published_shape() -> None:
    jpeg = encode_jpeg(np.full((16, 16, 3), 128, np.uint8))
    msgs = chat_messages("what is there?", [jpeg, jpeg], system="be brief")
    assert msgs[0] == {"role": "system", "content": "be brief"}
    user = msgs[1]
    assert user["role"] == "user" and user["content"][0] == {"type": "text", "text": "what is there?"}
    url = user["content"][1]["image_url"]["url"]
    assert user["content"][1]["type"] == "image_url" and url.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == jpeg
    assert request_bytes(msgs) > 2 * len(jpeg)
