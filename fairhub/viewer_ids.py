"""Livestream viewer ids, issued and signed by the server: a script cannot invent viewers.

A viewer id is `<nonce>.<tag>`: a random nonce and an HMAC-SHA256 of the fair and the nonce
under the server's key (128 bits of it, in base64url). Presence and questions take only ids
whose tag is right, so every viewer was handed out by a gateway, and handing them out is what
the per-address limit counts. The id is bound to its fair, which counts unique viewers over
all its sessions: the same phone is the same viewer all day. It fits events' `Ref`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from fairhub.config import Settings

_NONCE = re.compile(r"[\w-]{1,40}", re.ASCII)
_keys: dict[tuple[str | None, str], bytes] = {}


def key_of(settings: Settings) -> bytes:
    """The signing key, read (or generated) once per process."""
    known = (settings.viewer_secret, str(settings.data_dir))
    key = _keys.get(known)
    if key is None:
        key = _keys[known] = settings.resolved_viewer_secret().encode()
    return key


def sign(key: bytes, fair: str, nonce: str) -> str:
    """The viewer id of `nonce` in `fair` (the server's, or a benchmark's that holds the key)."""
    if not _NONCE.fullmatch(nonce):
        raise ValueError("a nonce is 1 to 40 letters, digits, - or _")
    mac = hmac.new(key, f"viewer\x00{fair}\x00{nonce}".encode(), hashlib.sha256).digest()
    return f"{nonce}.{base64.urlsafe_b64encode(mac[:16]).rstrip(b'=').decode()}"


def issue(key: bytes, fair: str) -> str:
    """A new viewer id for `fair`."""
    return sign(key, fair, "v" + secrets.token_urlsafe(12))


def genuine(key: bytes, fair: str, viewer_id: str) -> bool:
    """Whether `viewer_id` was issued for `fair` under `key` (in constant time)."""
    nonce, dot, _ = viewer_id.rpartition(".")
    if not dot or not _NONCE.fullmatch(nonce):
        return False
    return hmac.compare_digest(sign(key, fair, nonce).encode(), viewer_id.encode())
