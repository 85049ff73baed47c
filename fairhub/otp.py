"""One-time codes that prove a phone: short, expiring, few tries, sent by a pluggable sender.

A code is six digits, kept in Redis only as a digest under the fair's hash tag, for
`signup_code_seconds`. Checking is one Lua call: the right code is used up at once; each wrong
one counts, and the last allowed wrong attempt burns the code, so guessing a million codes
five at a time needs a new code (and its per-phone limit) every five guesses.
"""

# The SMS text is Chinese, with its full-width punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import hashlib
import importlib
import logging
import secrets
from typing import Literal, Protocol

import aiohttp

from fairhub import keys
from fairhub.config import Settings
from fairhub.redis import RedisClient

log = logging.getLogger("fairhub.sms")
Check = Literal["ok", "wrong", "spent", "expired"]

# KEYS: the code's hash. ARGV: digest of the code tried, attempts allowed.
_CHECK = """
local digest = redis.call('HGET', KEYS[1], 'digest')
if not digest then return 'expired' end
if digest == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 'ok'
end
local tries = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if tries >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 'spent'
end
return 'wrong'
"""


# KEYS: the code's hash. ARGV: digest, seconds. A new code replaces the last, tries from zero.
_ISSUE = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'digest', ARGV[1], 'attempts', 0)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class CodeSender(Protocol):
    """Delivers a text to a phone (an SMS provider's adapter); raises if it could not."""

    async def send(self, phone: str, text: str) -> None: ...

    async def aclose(self) -> None: ...


class LogSender:
    """No SMS provider: the text goes into the gateway's log (`fairhub dev` prints it)."""

    async def send(self, phone: str, text: str) -> None:
        log.warning("SMS to %s (no SMS provider configured, not sent): %s", phone, text)

    async def aclose(self) -> None:
        return None


class WebhookSender:
    """POSTs {phone, text} as JSON to the adapter of an SMS provider; a 2xx means sent."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._session: aiohttp.ClientSession | None = None

    async def send(self, phone: str, text: str) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        async with self._session.post(self.url, json={"phone": phone, "text": text}) as answer:
            answer.raise_for_status()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def make_sender(settings: Settings) -> CodeSender:
    """The sender FAIRHUB_SMS_SENDER names: log, webhook, or package.module:factory."""
    name = settings.sms_sender
    if name == "log":
        return LogSender()
    if name == "webhook":
        if not settings.sms_webhook_url:
            raise ValueError("FAIRHUB_SMS_SENDER=webhook needs FAIRHUB_SMS_WEBHOOK_URL")
        return WebhookSender(settings.sms_webhook_url)
    module, _, factory = name.partition(":")
    if not factory:
        raise ValueError("FAIRHUB_SMS_SENDER is log, webhook or package.module:factory")
    sender: CodeSender = getattr(importlib.import_module(module), factory)(settings)
    return sender


class Codes:
    """Issues and checks the codes of a fair's phones."""

    def __init__(self, redis: RedisClient, settings: Settings, sender: CodeSender) -> None:
        self.redis = redis
        self.sender = sender
        self.seconds = settings.signup_code_seconds
        self.attempts = settings.signup_code_attempts
        self._check = redis.register_script(_CHECK)
        self._issue = redis.register_script(_ISSUE)

    @staticmethod
    def _digest(fair: str, phone_key: str, code: str) -> str:
        return hashlib.sha256(f"{fair}|{phone_key}|{code}".encode()).hexdigest()

    async def send(self, fair: str, fair_name: str, phone_key: str, phone: str) -> None:
        """A new code for the phone (the previous one stops working), sent to it."""
        code = f"{secrets.randbelow(10**6):06d}"
        await self._issue(
            keys=[keys.signup_code(fair, phone_key)],
            args=[self._digest(fair, phone_key, code), self.seconds],
        )
        minutes = max(1, self.seconds // 60)
        text = f"【{fair_name}】你的验证码是 {code}，{minutes} 分钟内有效。如非本人操作，请忽略。"
        await self.sender.send(phone, text)

    async def check(self, fair: str, phone_key: str, code: str) -> Check:
        """ok (and used up), wrong, spent (too many wrong tries) or expired (none valid)."""
        answer = await self._check(
            keys=[keys.signup_code(fair, phone_key)],
            args=[self._digest(fair, phone_key, code), self.attempts],
        )
        result = answer.decode() if isinstance(answer, bytes) else str(answer)
        return result  # type: ignore[return-value]
