"""LAN mode: where phones and kiosks on the venue network reach `fairhub dev`.

The machine's LAN address is the source address the kernel would use towards a public
address (a UDP socket "connected" there sends nothing: connect only picks a route); without
such a route (a venue network with no Internet), the first non-loopback address of an
interface.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from fairhub.config import Settings

# Any public address will do: no packet is sent to it.
_PUBLIC_PROBE = "8.8.8.8"
# Hosts that mean "every interface": phones on the LAN can connect.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
NO_LAN_ADDRESS = (
    "no LAN address found (this machine has only loopback): phones and kiosks cannot reach it "
    "yet; join the venue network and start again, or set FAIRHUB_PUBLIC_URL"
)


def _usable(address: str) -> bool:
    """An IPv4 address another machine could connect to (not loopback, link-local or 0)."""
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def routed_address(target: str = _PUBLIC_PROBE) -> str | None:
    """The source address of the route towards a public address (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((target, 9))
        except OSError:  # no route: a network without a gateway, or none at all
            return None
        address = str(probe.getsockname()[0])
    return address if _usable(address) else None


def interface_addresses() -> list[str]:
    """Every IPv4 address of the interfaces that are up, in the order the system lists them."""
    import psutil  # here: the other commands that import this module start faster

    stats = psutil.net_if_stats()
    found = []
    for name, addresses in psutil.net_if_addrs().items():
        if name in stats and not stats[name].isup:
            continue
        found += [a.address for a in addresses if a.family == socket.AF_INET]
    return found


def lan_address(
    routed: Callable[[], str | None] = routed_address,
    interfaces: Callable[[], list[str]] = interface_addresses,
) -> str | None:
    """This machine's address on the venue network, or None when it has only loopback."""
    address = routed()
    if address is not None:
        return address
    return next((a for a in interfaces() if _usable(a)), None)


@dataclass(frozen=True)
class Lan:
    """What LAN mode decided: the host to bind, the public URL (None: none found) and why."""

    host: str
    public_url: str | None
    note: str | None = None


def wanted(settings: Settings, asked: bool) -> bool:
    """LAN mode: `--lan`, or a host other than loopback (FAIRHUB_HOST=0.0.0.0 or an address)."""
    if asked or settings.host in WILDCARD_HOSTS:
        return True
    with contextlib.suppress(ValueError):
        return not ipaddress.ip_address(settings.host).is_loopback
    return settings.host != "localhost"


def plan(settings: Settings, address: Callable[[], str | None] = lan_address) -> Lan:
    """Listen on every interface (or the address asked) and say where phones reach us."""
    host = settings.host if wanted(settings, asked=False) else "0.0.0.0"
    if settings.public_url:
        return Lan(host, settings.public_url)
    ip = settings.host if host not in WILDCARD_HOSTS else address()
    if ip is None:
        return Lan(host, None, NO_LAN_ADDRESS)
    shown = f"[{ip}]" if ":" in ip else ip
    return Lan(host, f"http://{shown}:{settings.port}")


def terminal_qr(text: str) -> str:
    """A QR code of `text` drawn with Unicode half blocks, for a phone to scan off the screen."""
    import segno

    drawing = io.StringIO()
    segno.make(text, error="m").terminal(out=drawing, compact=True)
    return drawing.getvalue()


def print_qr(text: str, out: TextIO = sys.stdout) -> None:
    """The QR code on `out`; none where it cannot be drawn (a terminal without Unicode)."""
    drawing = terminal_qr(text)
    if out.encoding:  # a stream of bytes underneath (a StringIO has none: it takes any text)
        try:
            drawing.encode(out.encoding)
        except (UnicodeEncodeError, LookupError):
            return
    out.write(drawing)
    out.flush()
