"""The timed stages of a frame and of a query: one list for the pipeline, the node, /diagnostics and the benchmarks.

Every stage is recorded in milliseconds in ``EdgePipeline.stats`` under one of these names
(README "Node interface", "Stages").
"""

from __future__ import annotations

# Along the frame path, in order.
RECEIVE = "receive"  # header stamp -> subscription callback (camera driver + DDS)
QUEUE = "queue"  # waiting in the converter's slot and the worker's latest-wins slot
CONVERT = "convert"  # message -> RGB array
GATE = "gate"
PREPROCESS = "preprocess"  # resize + normalise
EMBED = "embed"  # the encoder's forward pass
TRIGGER = "trigger"  # scoring + state machines
PUBLISH = "publish"  # the decision's messages
GLASS_TO_DECISION = "glass_to_decision"  # stamp -> decision published
GLASS_TO_ACTION = "glass_to_action"  # stamp -> each SemanticTrigger published
OVERHEAD_EXCL_FORWARD = "overhead_excl_forward"  # callback -> decision, minus EMBED: what the package adds
INDEX_INSERT = "index_insert"  # after publishing, off the decision path
PARAM_SET_TO_DECISION = "param_set_to_decision"  # a live parameter change -> the first frame decided with it
# Queries, on the service thread.
QUERY_ENCODE = "query_encode"
QUERY_SEARCH = "query_search"
QUERY_TOTAL = "query_total"

NODE_STAGES = (
    RECEIVE, QUEUE, CONVERT, GATE, PREPROCESS, EMBED, TRIGGER, PUBLISH, GLASS_TO_DECISION, GLASS_TO_ACTION,
    OVERHEAD_EXCL_FORWARD, INDEX_INSERT, QUERY_ENCODE, QUERY_SEARCH, QUERY_TOTAL, PARAM_SET_TO_DECISION,
)  # fmt: skip
"""Every stage the edge node reports in /diagnostics, in this order."""

# Offline runs (``videorag run``): decoding a file, and a frame's whole processing.
DECODE = "decode"
PROCESSING = "processing"
OFFLINE_STAGES = (DECODE, GATE, PREPROCESS, EMBED, TRIGGER, INDEX_INSERT, PROCESSING)
