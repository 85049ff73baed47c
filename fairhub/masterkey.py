"""The master key (FAIRHUB_SECRET_KEY) that seals badge-signing private keys at rest.

A dump of the database, a backup or a replica then holds no key that can forge a badge: the
private halves are AES-GCM ciphertexts, each under its own random nonce, bound to their fair
and key id (a sealed key copied onto another row does not open). Each sealed row names the
fingerprint of the master key that sealed it, so a wrong FAIRHUB_SECRET_KEY is reported as
such instead of as a corrupt key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fairhub.config import Settings

# Where `fairhub dev` keeps the master key it generated (next to the admin token).
KEY_FILE = "secret_key"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12


class SecretKeyError(Exception):
    """The master key is missing, malformed, or not the one the keys were sealed with."""


@dataclass(frozen=True)
class MasterKey:
    raw: bytes

    @classmethod
    def parse(cls, text: str) -> MasterKey:
        """A key from its text form: 32 bytes in URL-safe base64 (padding optional)."""
        text = text.strip()
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES:
            raise SecretKeyError(
                "FAIRHUB_SECRET_KEY must be 32 random bytes in URL-safe base64 (43 characters);"
                " make one with `fairhub rotate-secret --generate`"
            )
        return cls(raw)

    @property
    def fingerprint(self) -> str:
        """A short public name of the key: tells keys apart without revealing them."""
        return hashlib.sha256(b"fairhub-master-key\0" + self.raw).hexdigest()[:12]

    def seal(self, secret: bytes, fair: str, kid: str) -> tuple[bytes, bytes]:
        """(ciphertext, nonce) of a private key, bound to its fair and key id."""
        nonce = os.urandom(NONCE_BYTES)
        return AESGCM(self.raw).encrypt(nonce, secret, _bound_to(fair, kid)), nonce

    def unseal(self, sealed: bytes, nonce: bytes, fair: str, kid: str, sealed_by: str) -> bytes:
        """The private key back, or SecretKeyError saying which master key it needs."""
        if sealed_by != self.fingerprint:
            raise SecretKeyError(
                f"badge key {kid} of fair {fair} was sealed under master key {sealed_by},"
                f" but FAIRHUB_SECRET_KEY is {self.fingerprint}: set the key it was sealed"
                " with (or re-seal with `fairhub rotate-secret`)"
            )
        try:
            return AESGCM(self.raw).decrypt(nonce, sealed, _bound_to(fair, kid))
        except InvalidTag:
            raise SecretKeyError(
                f"badge key {kid} of fair {fair} does not open under master key"
                f" {self.fingerprint}: the row was altered or moved"
            ) from None


def _bound_to(fair: str, kid: str) -> bytes:
    return f"fairhub-badge-key\0{fair}\0{kid}".encode()


def generate() -> str:
    """A new master key in its text form."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def load(settings: Settings, create: bool = False) -> MasterKey:
    """FAIRHUB_SECRET_KEY, else the key kept in the data dir (made there once if `create`)."""
    if settings.secret_key is not None:
        return MasterKey.parse(settings.secret_key.get_secret_value())
    path = key_file(settings)
    if path.exists():
        return MasterKey.parse(path.read_text())
    if not create:
        raise SecretKeyError(
            "FAIRHUB_SECRET_KEY is not set: it encrypts the badge-signing keys in the"
            f" database. Generate one with `fairhub rotate-secret --generate`, keep it in"
            f" your secret store and set it for every gateway (or put it in {path})"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = generate()
    try:
        # Created private: the key must never be readable by others, even for an instant.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of the same start made it first
        return MasterKey.parse(path.read_text())
    with os.fdopen(fd, "w") as file:
        file.write(text + "\n")
    return MasterKey.parse(text)


def required(settings: Settings) -> MasterKey:
    """The master key, or the process ends saying how to set one (`fairhub serve`)."""
    try:
        return load(settings)
    except SecretKeyError as exc:
        raise SystemExit(f"fairhub: {exc}") from None
