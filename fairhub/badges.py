"""Seekers' badges: compact Ed25519-signed tokens that fit a small QR code.

A badge names the fair, the seeker and the badge's serial, and carries the id of the key that
signed it, so anyone holding the fair's public keys (the gateway, or a kiosk that is offline)
verifies it without a database. The text is upper-case base32 behind a short prefix: QR codes
store that in their compact alphanumeric mode, and a USB scanner that "types" the code cannot
get the case wrong.

    FH1 + base32( kid(4) | fair uuid(16) | seeker uuid(16) | serial(2) | signature(64) )
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

PREFIX = "FH1"
_SIGNED_LEN = 4 + 16 + 16 + 2
_SIGNATURE_LEN = 64


class BadBadge(Exception):
    """Not a badge, or not signed by a key of the fair it names."""


@dataclass(frozen=True)
class Claims:
    """What a badge says."""

    kid: str
    fair_id: str
    seeker_id: str
    serial: int


@dataclass(frozen=True)
class KeyPair:
    kid: str
    private_key: bytes  # raw 32 bytes
    public_key: bytes  # raw 32 bytes


def new_key() -> KeyPair:
    """A fresh signing key; its id is derived from the public key, so it needs no registry."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return KeyPair(kid=hashlib.sha256(public).hexdigest()[:8], private_key=raw, public_key=public)


def sign(key: KeyPair, fair_id: str, seeker_id: str, serial: int) -> str:
    """The badge text for a seeker (seeker ids are UUIDs: they take 16 bytes)."""
    signed = (
        bytes.fromhex(key.kid)
        + uuid.UUID(fair_id).bytes
        + uuid.UUID(seeker_id).bytes
        + serial.to_bytes(2, "big")
    )
    signature = Ed25519PrivateKey.from_private_bytes(key.private_key).sign(signed)
    return PREFIX + base64.b32encode(signed + signature).decode().rstrip("=")


def _unpack(badge: str) -> tuple[Claims, bytes, bytes]:
    text = badge.strip().upper()
    if not text.startswith(PREFIX):
        raise BadBadge("not a FairHub badge")
    body = text[len(PREFIX) :]
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError):
        raise BadBadge("the badge is damaged") from None
    if len(raw) != _SIGNED_LEN + _SIGNATURE_LEN:
        raise BadBadge("the badge is incomplete")
    signed, signature = raw[:_SIGNED_LEN], raw[_SIGNED_LEN:]
    claims = Claims(
        kid=signed[:4].hex(),
        fair_id=str(uuid.UUID(bytes=signed[4:20])),
        seeker_id=str(uuid.UUID(bytes=signed[20:36])),
        serial=int.from_bytes(signed[36:38], "big"),
    )
    return claims, signed, signature


def read(badge: str) -> Claims:
    """What a badge claims, unverified: enough to tell which fair's keys to check it with."""
    return _unpack(badge)[0]


def verify(badge: str, public_keys: Mapping[str, bytes]) -> Claims:
    """The claims of a badge signed by one of `public_keys` (kid -> raw key), or BadBadge."""
    claims, signed, signature = _unpack(badge)
    public = public_keys.get(claims.kid)
    if public is None:
        raise BadBadge("the badge was signed by an unknown or retired key")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, signed)
    except InvalidSignature:
        raise BadBadge("the badge's signature is not valid") from None
    return claims
