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
import functools
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from prometheus_client import Counter

PREFIX = "FH1"
_SIGNED_LEN = 4 + 16 + 16 + 2
_SIGNATURE_LEN = 64
_RAW_LEN = _SIGNED_LEN + _SIGNATURE_LEN
_BODY_LEN = -(-_RAW_LEN * 8 // 5)  # base32 characters, unpadded
_SPARE_BITS = _BODY_LEN * 5 - _RAW_LEN * 8  # the last character's unused low bits, zero
_BODY = re.compile(f"[A-Z2-7]{{{_BODY_LEN}}}")
# Base32's alphabet onto the digits int(..., 32) reads: decoding is one C call, not a loop.
_AS_DIGITS = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghijklmnopqrstuv")
# Valid badges verified lately: re-entries and kiosk retries skip the signature check.
VERIFIED_CACHE_SIZE = 65_536
# Ed25519 checks actually run (not answered by the cache): the gate's largest cost per scan.
SIGNATURE_CHECKS = Counter(
    "fairhub_badge_signature_checks_total", "Badge signatures checked with Ed25519 (cache misses)"
)


class BadBadge(Exception):
    """Not a badge, or not signed by a key of the fair it names."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What a badge says."""

    kid: str
    fair_id: str
    seeker_id: str
    serial: int


@dataclass(frozen=True)
class KeyPair:
    kid: str
    private_key: bytes  # raw 32 bytes (the Ed25519 seed)
    public_key: bytes  # raw 32 bytes


def new_key() -> KeyPair:
    """A fresh signing key; its id is derived from the public key, so it needs no registry."""
    private = SigningKey.generate()
    public = bytes(private.verify_key)
    return KeyPair(hashlib.sha256(public).hexdigest()[:8], bytes(private), public)


def sign(key: KeyPair, fair_id: str, seeker_id: str, serial: int) -> str:
    """The badge text for a seeker (seeker ids are UUIDs: they take 16 bytes)."""
    signed, signature = _issue(key, fair_id, seeker_id, serial)
    return PREFIX + base64.b32encode(signed + signature).decode().rstrip("=")


def issued_digest(key: KeyPair, fair_id: str, seeker_id: str, serial: int) -> str:
    """digest() of the badge sign() gives: what the seeker card keeps, so that a scan of
    exactly that badge needs no signature check (Ed25519 signatures are deterministic)."""
    return digest(*_issue(key, fair_id, seeker_id, serial))


def digest(signed: bytes, signature: bytes) -> str:
    """A badge's fingerprint, of its raw bytes: every spelling of one badge has one digest."""
    return hashlib.sha256(signed + signature).hexdigest()[:32]  # 16 bytes: no second preimage


def _issue(key: KeyPair, fair_id: str, seeker_id: str, serial: int) -> tuple[bytes, bytes]:
    signed = (
        bytes.fromhex(key.kid)
        + uuid.UUID(fair_id).bytes
        + uuid.UUID(seeker_id).bytes
        + serial.to_bytes(2, "big")
    )
    return signed, _signing_key(key.private_key).sign(signed).signature


def _uuid(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class Unverified:
    """A badge taken apart but not yet checked: what it claims, and what proves it."""

    claims: Claims
    signed: bytes
    signature: bytes


def unpack(badge: str) -> Unverified:
    """A badge taken apart (BadBadge if it cannot be one), once: the gate reads the fair it
    names before it knows which keys to check it with, and verified() needs no second parse."""
    return Unverified(*_unpack(badge))


def _unpack(badge: str) -> tuple[Claims, bytes, bytes]:
    text = badge.strip().upper()
    if not text.startswith(PREFIX):
        raise BadBadge("not a FairHub badge")
    body = text[len(PREFIX) :]
    if len(body) != _BODY_LEN:
        raise BadBadge("the badge is incomplete")
    if _BODY.fullmatch(body) is None:
        raise BadBadge("the badge is damaged")
    value = int(body.translate(_AS_DIGITS), 32)
    if value & ((1 << _SPARE_BITS) - 1):
        raise BadBadge("the badge is damaged")  # one badge, one spelling
    raw = (value >> _SPARE_BITS).to_bytes(_RAW_LEN, "big")
    signed, signature = raw[:_SIGNED_LEN], raw[_SIGNED_LEN:]
    claims = Claims(
        kid=signed[:4].hex(),
        fair_id=_uuid(signed[4:20]),
        seeker_id=_uuid(signed[20:36]),
        serial=int.from_bytes(signed[36:38], "big"),
    )
    return claims, signed, signature


def read(badge: str) -> Claims:
    """What a badge claims, unverified: enough to tell which fair's keys to check it with."""
    return _unpack(badge)[0]


def verify(badge: str, public_keys: Mapping[str, bytes]) -> Claims:
    """The claims of a badge signed by one of `public_keys` (kid -> raw key), or BadBadge.

    A retired key is no longer among `public_keys`, so its badges fail here even if they were
    verified before; only valid signatures are remembered, so a forgery is checked every time.
    """
    return verified(unpack(badge), public_keys)


def verified(badge: Unverified, public_keys: Mapping[str, bytes]) -> Claims:
    """verify() of a badge already unpacked."""
    _check(badge.signed, badge.signature, live_key(badge, public_keys))
    return badge.claims


def live_key(badge: Unverified, public_keys: Mapping[str, bytes]) -> bytes:
    """The public key of the kid the badge names, or BadBadge when it is not a live key: a
    retired key's badge is refused whatever else is known about it."""
    public = public_keys.get(badge.claims.kid)
    if public is None:
        raise BadBadge("the badge was signed by an unknown or retired key")
    return public


@functools.lru_cache(maxsize=VERIFIED_CACHE_SIZE)
def _check(signed: bytes, signature: bytes, public: bytes) -> None:
    """Raises unless `signature` is `public`'s over `signed`; a pass is cached, a raise is not."""
    SIGNATURE_CHECKS.inc()
    try:
        _verify_key(public).verify(signed, signature)
    except BadSignatureError:
        raise BadBadge("the badge's signature is not valid") from None


@functools.lru_cache(maxsize=1024)
def _verify_key(public: bytes) -> VerifyKey:
    return VerifyKey(public)


@functools.lru_cache(maxsize=1024)
def _signing_key(private: bytes) -> SigningKey:
    return SigningKey(private)
