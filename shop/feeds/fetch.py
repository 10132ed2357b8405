"""Download one feed: conditional, size- and time-capped, public addresses only.

Never called inside a transaction. The body is streamed into a spooled temporary file (in
memory while small) and hashed on the way, so an unchanged body is recognised without
parsing it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from typing import IO
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from common.db import in_transaction
from shop.feeds.netguard import FeedURLRefused, GuardedAdapter, validate_feed_url

MAX_REDIRECTS = 3
CHUNK_BYTES = 64 * 1024
USER_AGENT = "Tribe-InventorySync/1.0"


class FeedFetchError(Exception):
    """The feed could not be downloaded; `retryable` says whether trying later may help."""

    def __init__(self, message: str, *, code: str, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


@dataclass
class Fetched:
    not_modified: bool
    fetched_at: datetime
    body: IO[bytes] | None = None
    sha256: str = ""
    etag: str = ""
    last_modified: str = ""
    as_of_header: str = ""


def auth_headers(*, header: str, env_name: str) -> dict[str, str]:
    """The feed's auth header, its value read now from an allowed environment variable."""
    if not header or not env_name:
        return {}
    prefix = settings.FEED_AUTH_ENV_PREFIX
    if not env_name.startswith(prefix):
        raise FeedFetchError(
            f"The auth variable must start with {prefix}.", code="auth_env_refused", retryable=False
        )
    value = os.environ.get(env_name)
    if not value:
        raise FeedFetchError(
            f"The environment variable {env_name} is not set.",
            code="auth_env_missing",
            retryable=False,
        )
    return {header: value}


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc credentials from the environment
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _status_error(status: int) -> FeedFetchError:
    if status == 429:
        return FeedFetchError(
            "The feed server asked us to slow down (429).", code="http_429", retryable=True
        )
    if 400 <= status < 500:
        return FeedFetchError(
            f"The feed server answered {status}.", code=f"http_{status}", retryable=False
        )
    if status >= 500:
        return FeedFetchError(
            f"The feed server answered {status}.", code=f"http_{status}", retryable=True
        )
    return FeedFetchError(f"Unexpected answer {status}.", code=f"http_{status}", retryable=False)


def feed_fetch(
    *,
    url: str,
    headers: dict[str, str],
    etag: str = "",
    last_modified: str = "",
    as_of_header: str = "",
) -> Fetched:
    """GET the feed; a 304 answer returns `not_modified` with no body."""
    if in_transaction():
        raise RuntimeError("Feeds are never fetched inside a transaction.")
    try:
        validate_feed_url(url)
    except FeedURLRefused as exc:
        raise FeedFetchError(str(exc), code="url_refused", retryable=False) from exc
    request_headers = {"User-Agent": USER_AGENT, "Accept": "text/csv, application/json, */*"}
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + settings.FEED_FETCH_DEADLINE
    timeout = (settings.FEED_CONNECT_TIMEOUT, settings.FEED_READ_TIMEOUT)
    session = _session()
    try:
        response = _get_following_redirects(session, url, request_headers, headers, timeout)
        with response:
            return _read(response, deadline=deadline, as_of_header=as_of_header)
    except FeedURLRefused as exc:
        raise FeedFetchError(str(exc), code="url_refused", retryable=False) from exc
    except requests.Timeout as exc:
        raise FeedFetchError(
            f"The feed server timed out: {exc}", code="timeout", retryable=True
        ) from exc
    except requests.TooManyRedirects as exc:
        raise FeedFetchError("Too many redirects.", code="redirects", retryable=False) from exc
    except requests.RequestException as exc:
        if isinstance(exc.__context__, FeedURLRefused):
            raise FeedFetchError(str(exc.__context__), code="url_refused", retryable=False) from exc
        raise FeedFetchError(
            f"Could not reach the feed: {exc}", code="network", retryable=True
        ) from exc
    finally:
        session.close()


def _get_following_redirects(
    session: requests.Session,
    url: str,
    request_headers: dict[str, str],
    auth: dict[str, str],
    timeout: tuple[float, float],
) -> requests.Response:
    origin = url
    for _ in range(MAX_REDIRECTS + 1):
        # The auth header goes only to the origin the brand configured, never to a redirect.
        sent = request_headers | (auth if _same_origin(origin, url) else {})
        response = session.get(
            url, headers=sent, stream=True, timeout=timeout, allow_redirects=False
        )
        if not response.is_redirect:
            return response
        location = urljoin(url, response.headers["location"])
        response.close()
        try:
            validate_feed_url(location)
        except FeedURLRefused as exc:
            raise FeedFetchError(
                f"The feed redirected to a refused address: {exc}",
                code="url_refused",
                retryable=False,
            ) from exc
        url = location
    raise requests.TooManyRedirects(f"More than {MAX_REDIRECTS} redirects.")


def _read(response: requests.Response, *, deadline: float, as_of_header: str) -> Fetched:
    fetched_at = timezone.now()
    if response.status_code == 304:
        return Fetched(not_modified=True, fetched_at=fetched_at)
    if response.status_code != 200:
        raise _status_error(response.status_code)
    limit = settings.FEED_MAX_BYTES
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FeedFetchError(
            f"The feed is larger than {limit} bytes.", code="too_big", retryable=False
        )
    body = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115
    digest = hashlib.sha256()
    size = 0
    for chunk in response.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            body.close()
            raise FeedFetchError(
                f"The feed is larger than {limit} bytes.", code="too_big", retryable=False
            )
        if time.monotonic() > deadline:
            body.close()
            raise FeedFetchError(
                "The feed took too long to download.", code="timeout", retryable=True
            )
        digest.update(chunk)
        body.write(chunk)
    body.seek(0)
    return Fetched(
        not_modified=False,
        fetched_at=fetched_at,
        body=body,
        sha256=digest.hexdigest(),
        etag=response.headers.get("ETag", "")[:255],
        last_modified=response.headers.get("Last-Modified", "")[:100],
        as_of_header=response.headers.get(as_of_header, "") if as_of_header else "",
    )
