"""Doors in: video from streams, files, webcams, WebSocket edge clients and WebRTC peers.

ROS-free. Each door turns what arrives into :class:`~videorag_ros.ingest.frame.IngestFrame`
objects (a JPEG passed through, or an RGB array) with a capture stamp; the thin rclpy nodes in
``videorag_ros.ros`` publish them as the camera topics the edge node already reads.

Modules: ``source`` (what a ``--source`` names), ``decode_worker`` (PyAV decoding in a child
process), ``bridge`` (reconnect, backoff, pacing, counters), ``stamps`` (capture time),
``ws_protocol`` / ``ws_server`` / ``ws_client`` (the WebSocket door), ``webrtc_server`` /
``webrtc_client`` / ``ice`` (the WHIP-style aiortc answerer and publisher), ``auth`` (tokens),
``config`` (parameter tables of the doors), ``frame`` (the frame and counters every door hands
on), ``backoff`` and ``errors``. The sources the tests and ``videorag bench ingest`` serve on
127.0.0.1 are in ``videorag_ros/bench/rigs/streams.py``.
The optional dependencies (av, websockets, aiortc, aiohttp: the ``ingest`` extra) are imported
only by the modules that need them.
"""
