"""Card-testing defence: declined payments counted per client, device, cart and card.

Each of those (a "subject") has a decline counter for a fixed window
(PAYMENT_DECLINE_WINDOW_SECONDS) and an in-flight counter. A payment attempt that would go
to Stripe first takes a slot (`payment_attempt_begin`): it is refused with 429
`payment_attempts_exceeded` when a subject is blocked, or when its declines plus the attempts
already in flight would pass its limit. So however many requests race, no more than the limit
reach Stripe per window. A decline (`payment_decline_count`) is counted once per charge,
whether the server's confirm saw it or a `payment_intent.payment_failed` event reported it;
the decline that reaches a subject's limit blocks it for PAYMENT_BLOCK_SECONDS.

Each step is one Lua script, so the check and the count are one atomic step in Redis.
With Redis unreachable the defence steps aside (logged) rather than stop every payment:
Stripe's own Radar still screens them.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest

from common.client_ip import client_ip
from common.errors import ApplicationError
from common.hashing import salted_hash
from common.redis_client import REDIS_FAILURES, redis_client

logger = logging.getLogger(__name__)

# The app's install id, the header click tracking already reads (creators.attribution.clients).
DEVICE_HEADER = "X-Device-ID"
DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
# An attempt's slot outlives the longest Stripe call (timeout x tries) when a worker dies.
IN_FLIGHT_SECONDS = 120
LIMITS = {
    "client": "PAYMENT_DECLINES_PER_CLIENT",
    "device": "PAYMENT_DECLINES_PER_DEVICE",
    "cart": "PAYMENT_DECLINES_PER_CART",
    "card": "PAYMENT_DECLINES_PER_CARD",
}

# KEYS: per subject (declines, in-flight, block); ARGV: in-flight seconds, block
# milliseconds, then each limit. Returns 0 when a slot is taken, else the milliseconds to
# wait: a block's time left, or, when the attempts in flight would pass a limit, the
# window's time left (at most a block; a second when only attempts in flight count).
_BEGIN = """
local wait = 0
for i = 1, #KEYS, 3 do
  local blocked = redis.call('PTTL', KEYS[i + 2])
  if blocked > wait then wait = blocked end
end
if wait > 0 then return wait end
for i = 1, #KEYS, 3 do
  local limit = tonumber(ARGV[(i + 2) / 3 + 2])
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  local busy = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
  if used + busy + 1 > limit then
    local left = redis.call('PTTL', KEYS[i])
    if left > tonumber(ARGV[2]) then left = tonumber(ARGV[2]) end
    if left < 1000 then left = 1000 end
    if left > wait then wait = left end
  end
end
if wait > 0 then return wait end
for i = 1, #KEYS, 3 do
  redis.call('INCR', KEYS[i + 1])
  redis.call('EXPIRE', KEYS[i + 1], tonumber(ARGV[1]))
end
return 0
"""
# KEYS: the in-flight counters.
_END = """
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
"""
# KEYS[1]: the decline's once-key; then per subject (declines, block).
# ARGV: window seconds, block seconds, then each limit. Returns 1 when counted now.
_DECLINE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[1])) then return 0 end
for i = 2, #KEYS, 2 do
  local used = redis.call('INCR', KEYS[i])
  if used == 1 then redis.call('EXPIRE', KEYS[i], tonumber(ARGV[1])) end
  if used >= tonumber(ARGV[i / 2 + 2]) then
    -- Blocked for the block's length; once it lapses the subject starts a fresh count.
    redis.call('SET', KEYS[i + 1], '1', 'EX', tonumber(ARGV[2]))
    redis.call('DEL', KEYS[i])
  end
end
return 1
"""


class PaymentAttemptsExceeded(ApplicationError):
    status_code = 429
    code = "payment_attempts_exceeded"
    default_message = "Too many declined payments; try again later."
    retryable = True

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(details={"retry_after": retry_after})


@dataclass(frozen=True)
class PaymentClient:
    """Who is paying, as salted hashes: the client IP and the app's device id (if sent)."""

    ip_hash: str = ""
    device_hash: str = ""

    def subjects(self, *, cart_id: int | None = None) -> list[tuple[str, str]]:
        pairs = [("client", self.ip_hash), ("device", self.device_hash)]
        if cart_id is not None:
            pairs.append(("cart", str(cart_id)))
        return [(kind, value) for kind, value in pairs if value]


def payment_client(request: HttpRequest, *, device_id: str = "") -> PaymentClient:
    """The paying client of a request: the trusted-proxy client IP and the device id (the
    `X-Device-ID` header unless given), each hashed; an id that is not one is ignored."""
    ip = client_ip(request)
    device = device_id or request.headers.get(DEVICE_HEADER, "")
    return PaymentClient(
        ip_hash=salted_hash(f"ip:{ip}") if ip else "",
        device_hash=salted_hash(f"device:{device}") if DEVICE_ID.match(device) else "",
    )


_scripts: dict[tuple[int, str], Any] = {}


def _redis() -> redis.Redis:
    return redis_client(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


def _run(source: str, keys: Sequence[str], args: Sequence[int]) -> int:
    """Run a script; 0 (allowed, nothing counted) when Redis cannot be reached."""
    client = _redis()
    script = _scripts.get((id(client), source))
    if script is None:
        script = _scripts[(id(client), source)] = client.register_script(source)
    try:
        return int(script(keys=list(keys), args=list(args)))
    except REDIS_FAILURES:
        logger.warning("Payment attempt counters unreachable; attempt allowed", exc_info=True)
        return 0


def _key(kind: str, value: str, part: str) -> str:
    return f"{settings.PAYMENT_GUARD_KEY_PREFIX}:payments:{part}:{kind}:{value}"


def _limit(kind: str) -> int:
    return int(getattr(settings, LIMITS[kind]))


def _refuse(wait_ms: int) -> PaymentAttemptsExceeded:
    return PaymentAttemptsExceeded(retry_after=max(1, math.ceil(wait_ms / 1000)))


def payment_attempts_check(*, subjects: Iterable[tuple[str, str]]) -> None:
    """Refuse (429) when any subject is blocked; takes no slot (a step before paying)."""
    pairs = list(subjects)
    if not pairs:
        return
    try:
        with _redis().pipeline(transaction=False) as pipe:
            for kind, value in pairs:
                pipe.pttl(_key(kind, value, "block"))
            wait = max(int(ms) for ms in pipe.execute())
    except REDIS_FAILURES:
        logger.warning("Payment attempt counters unreachable; attempt allowed", exc_info=True)
        return
    if wait > 0:
        raise _refuse(wait)


def payment_attempt_begin(*, subjects: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Take an in-flight slot for each subject, or refuse (429) before Stripe is called.

    Returns the subjects to pass to `payment_attempt_end` once Stripe has answered.
    """
    pairs = list(subjects)
    if not pairs:
        return pairs
    keys = [
        _key(kind, value, part) for kind, value in pairs for part in ("declines", "busy", "block")
    ]
    args = [IN_FLIGHT_SECONDS, settings.PAYMENT_BLOCK_SECONDS * 1000]
    wait = _run(_BEGIN, keys, [*args, *(_limit(kind) for kind, _ in pairs)])
    if wait > 0:
        raise _refuse(wait)
    return pairs


def payment_attempt_end(*, subjects: Iterable[tuple[str, str]]) -> None:
    """Give back the slots an attempt took (count its decline first, if it was declined)."""
    keys = [_key(kind, value, "busy") for kind, value in subjects]
    if keys:
        _run(_END, keys, [])


def payment_decline_count(*, subjects: Iterable[tuple[str, str]], once: str) -> bool:
    """Count one decline against each subject, once per `once` (the charge, or the event).

    Returns whether it was counted now (False: already counted, e.g. a repeated event or
    the event of a decline the server's confirm counted).
    """
    pairs = [(kind, value) for kind, value in subjects if value]
    if not pairs or not once:
        return False
    keys = [f"{settings.PAYMENT_GUARD_KEY_PREFIX}:payments:declined:{once}"]
    keys += [_key(kind, value, part) for kind, value in pairs for part in ("declines", "block")]
    args = [
        settings.PAYMENT_DECLINE_WINDOW_SECONDS,
        settings.PAYMENT_BLOCK_SECONDS,
        *(_limit(kind) for kind, _ in pairs),
    ]
    return _run(_DECLINE, keys, args) == 1
