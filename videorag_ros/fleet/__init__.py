"""Fleet memory: many robots' selected frames in Qdrant, searched centrally, while each robot never waits.

ROS-free. ``selector`` picks what a robot sends (keyframes at a fixed pace, each trigger moment's
best frame), ``point`` is what is stored (vector, payload, deterministic ids) and how stored
payloads are checked, ``outbox`` is the bounded drop-oldest queue the frame worker fills,
``exporter`` feeds the store worker from its own thread with batches, retries and backoff
(``backoff``), ``worker`` applies batches, sweeps the TTL and lets Edge index, in a child process,
``store`` is the store interface and ``open_store``, with ``edge_store`` (Qdrant Edge, the embedded
default) and ``client_store`` (qdrant-client: server / cluster, or its local mode), ``query`` turns
a text into fleet moments, and ``errors``. The ROS side is ``videorag_ros/ros/fleet_tap.py``; the
commands are ``videorag fleet ingest|query|stats``; design and sizing: docs/fleet.md. The optional
dependencies (qdrant-client, qdrant-edge-py: the ``fleet`` extra) are imported only where needed.
"""
