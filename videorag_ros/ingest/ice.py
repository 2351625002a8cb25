"""ICE settings for aiortc: which STUN/TURN servers, and whether media may leave the loopback interface.

aiortc gathers host candidates on every interface except loopback and, without ICE servers,
asks Google's public STUN server. Neither is acceptable for a door bound to 127.0.0.1 (media
would flow over another interface) nor in tests, and aiortc has no setting for either, so:
``ice_servers`` is always passed explicitly (empty means none), and ``loopback_host_candidates``
replaces aioice's host-address lookup with 127.0.0.1 for the whole process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)


def loopback_host_candidates() -> None:
    """Make aioice offer only 127.0.0.1 as a host candidate in this process (idempotent)."""
    import aioice.ice

    def loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"] if use_ipv4 else []

    if getattr(aioice.ice.get_host_addresses, "__name__", "") != "loopback_only":
        aioice.ice.get_host_addresses = loopback_only
        log.info("WebRTC media restricted to 127.0.0.1 (host_candidates: loopback)")


def rtc_configuration(urls: Sequence[str], *, username: str = "", credential: str = "") -> Any:
    """An aiortc ``RTCConfiguration`` with exactly these ICE servers (none: host candidates only)."""
    from aiortc import RTCConfiguration, RTCIceServer

    servers = [RTCIceServer(urls=u, username=username or None, credential=credential or None) if u.startswith("turn") else RTCIceServer(urls=u) for u in urls]
    return RTCConfiguration(iceServers=servers)
