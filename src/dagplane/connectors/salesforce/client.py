"""The session, login and retry boundary every Salesforce call goes through."""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import jwt
import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.login import token_login
from simple_salesforce.util import call_salesforce

from dagplane.connectors.salesforce.credentials import SalesforceCredentials
from dagplane.connectors.salesforce.errors import (
    SalesforceApiError,
    SalesforceError,
    SessionExpiredError,
    translate_errors,
)
from dagplane.connectors.salesforce.limits import ApiUsageGuard
from dagplane.errors import ConfigError, TransientError

__all__ = ["DEFAULT_API_VERSION", "RetryPolicy", "SalesforceClient", "build_session"]

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_API_VERSION = "62.0"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter for transient errors.

    ``attempts`` counts every try (first one included); the n-th retry waits
    ``min(max_delay, base_delay * 2**n)`` shortened by up to ``jitter`` of itself.
    ``relogins`` bounds how often one call may log in again after ``INVALID_SESSION_ID``.
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 0.5
    relogins: int = 2

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2**retry)
        return ceiling * (1 - self.jitter * random.random())


class _TimeoutSession(requests.Session):
    """A ``requests.Session`` that applies a default timeout to every request."""

    def __init__(self, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


def build_session(
    ca_bundle: Path | None = None,
    timeout: float | tuple[float, float] = (10.0, 300.0),
    base_url: str | None = None,
) -> requests.Session:
    """A session that trusts exactly ``ca_bundle`` when given.

    ``trust_env=False`` then stops ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from replacing the
    configured CA (requests lets them override ``Session.verify``); the proxies the environment
    sets for ``base_url`` (``HTTPS_PROXY``, ``NO_PROXY``) are kept explicitly.
    """
    session = _TimeoutSession(timeout)
    if ca_bundle is not None:
        session.verify = str(ca_bundle)
        session.trust_env = False
        if base_url:
            session.proxies.update(requests.utils.get_environ_proxies(base_url))
    return session


class SalesforceClient:
    """A logged-in simple-salesforce client plus the retry, relogin and API-usage boundary.

    Every call goes through ``call()``: errors are translated once, an expired session logs in
    again, transient failures back off per ``retry``, and each response's
    ``Sforce-Limit-Info`` feeds ``usage_guard``.
    """

    def __init__(
        self,
        credentials: SalesforceCredentials,
        *,
        api_version: str = DEFAULT_API_VERSION,
        retry: RetryPolicy | None = None,
        usage_guard: ApiUsageGuard | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        credentials.check()
        self.credentials = credentials
        self.api_version = api_version
        self.retry = retry or RetryPolicy()
        self.usage_guard = usage_guard or ApiUsageGuard()
        self.session = session or build_session(
            credentials.ca_bundle, base_url=credentials.base_url
        )
        self.session.hooks["response"].append(self._observe_usage)
        self._sleep = sleep
        self._closed = threading.Event()
        self._retry_after: float | None = None
        self._sf: Salesforce | None = None
        self.logins = 0
        self.retries = 0

    def __repr__(self) -> str:
        return f"SalesforceClient({self.credentials.base_url!r}, auth={self.credentials.auth_mode})"

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce client, logging in on first use."""
        if self._sf is None:
            self.login()
        assert self._sf is not None
        return self._sf

    def login(self) -> None:
        """Log in (again) with the configured auth mode."""
        mode = self.credentials.auth_mode
        with translate_errors(f"log in to {self.credentials.base_url} ({mode})"):
            session_id, instance = self._authenticate(mode)
        self._sf = Salesforce(
            session_id=session_id,
            instance_url=f"https://{instance}",
            session=self.session,
            version=self.api_version,
        )
        self.logins += 1
        log.info("logged in to Salesforce instance %s (%s)", instance, mode)

    def close(self) -> None:
        """Close the HTTP session; a call still retrying in another thread stops."""
        self._closed.set()
        self.session.close()

    def call(self, action: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` at the error boundary, with relogin and bounded backoff."""
        retries = relogins = 0
        expired = False
        while True:
            if self._closed.is_set():
                raise SalesforceApiError(f"{action}: the Salesforce client was closed")
            try:
                if expired:  # inside the loop, so a transient failure of the login is retried
                    self.login()
                    expired = False
                with translate_errors(action):
                    return fn()
            except SessionExpiredError:
                if relogins >= self.retry.relogins:
                    raise
                relogins += 1
                log.warning("%s: session expired, logging in again", action)
                expired = True
            except SalesforceError as exc:
                if not isinstance(exc, TransientError) or retries + 1 >= self.retry.attempts:
                    raise
                wait = self.retry.delay(retries)
                if self._retry_after is not None:  # the server said how long: wait that long
                    wait = max(wait, min(self._retry_after, self.retry.max_delay))
                    self._retry_after = None
                retries += 1
                self.retries += 1
                log.warning("%s: %s; retry %d in %.2fs", action, exc.code, retries, wait)
                if self._sleep is time.sleep:
                    self._closed.wait(wait)  # a close() ends the wait
                else:
                    self._sleep(wait)

    def request(self, action: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An authenticated call to ``/services/data/vXX.X/<path>`` (or a full URL)."""
        return self.call(action, lambda: self._send(method, path, **kwargs))

    def download(
        self, action: str, path: str, **kwargs: Any
    ) -> tuple[CaseInsensitiveDict[str], bytes]:
        """``GET`` a large body: its headers and its bytes, gunzipped in one piece.

        Reading the compressed body whole and inflating it in one call (which frees the GIL)
        is cheaper than requests' 10 KB chunks, and lets a page download at full speed while
        another thread loads the previous one. A connection cut mid-body is retried.
        """

        def fetch() -> tuple[CaseInsensitiveDict[str], bytes]:
            response = self._send("GET", path, stream=True, **kwargs)
            with response:
                try:
                    raw = response.raw.read(decode_content=False)
                except urllib3.exceptions.HTTPError as exc:
                    raise requests.ConnectionError(f"reading the response body: {exc}") from exc
            encoding = response.headers.get("Content-Encoding", "").strip().lower()
            if encoding in ("gzip", "x-gzip"):
                try:
                    raw = zlib.decompress(raw, wbits=31)
                except zlib.error as exc:
                    # Most often a connection closed mid-body with no length to tell: retry.
                    raise requests.ConnectionError(f"the gzip body is cut short: {exc}") from exc
            return response.headers, raw

        return self.call(action, fetch)

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        extra_headers = kwargs.pop("headers", {})
        url = path if path.startswith("https://") else self.sf.base_url + path
        headers = {
            "Authorization": f"Bearer {self.sf.session_id}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        headers.update(extra_headers)
        return call_salesforce(url, method, self.session, headers, **kwargs)

    def describe(self, object_name: str) -> dict[str, Any]:
        """``describe()`` of one sObject."""
        return self.call(
            f"describe {object_name}", lambda: getattr(self.sf, object_name).describe()
        )

    def query(
        self, soql: str, *, include_deleted: bool = True, batch_size: int | None = None
    ) -> dict[str, Any]:
        """The first REST page of a SOQL query (``queryAll`` when ``include_deleted``)."""
        endpoint = "queryAll" if include_deleted else "query"
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
        return self.call(
            endpoint,
            lambda: self.sf.query(soql, include_deleted=include_deleted, headers=headers),
        )

    def query_more(self, next_records_url: str) -> dict[str, Any]:
        """The REST page at ``nextRecordsUrl``."""
        return self.call(
            "query more", lambda: self.sf.query_more(next_records_url, identifier_is_url=True)
        )

    def _observe_usage(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.usage_guard.observe(response.headers.get("Sforce-Limit-Info"))
        if response.status_code in (429, 503):
            self._retry_after = _seconds(response.headers.get("Retry-After"))

    def _authenticate(self, mode: str) -> tuple[str, str]:
        creds = self.credentials
        if mode == "password":
            assert creds.password is not None and creds.security_token is not None
            return SalesforceLogin(
                username=creds.username,
                password=creds.password.get_secret_value(),
                security_token=creds.security_token.get_secret_value(),
                domain=creds.domain,
                sf_version=self.api_version,
                session=self.session,
                scratch_url=creds.base_url,
            )
        assert creds.client_id is not None
        client_id = creds.client_id.get_secret_value()
        headers = None
        if mode == "client_credentials":
            assert creds.client_secret is not None
            pair = f"{client_id}:{creds.client_secret.get_secret_value()}".encode()
            headers = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
            data = {"grant_type": "client_credentials"}
        else:
            data = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self._jwt_assertion(client_id),
            }
        token_url = f"{creds.base_url}/services/oauth2/token"
        return token_login(token_url, data, creds.domain, client_id, headers, None, self.session)

    def _jwt_assertion(self, client_id: str) -> str:
        creds = self.credentials
        if creds.private_key is not None:
            key: str | bytes = creds.private_key.get_secret_value()
        else:
            assert creds.private_key_file is not None
            try:
                key = creds.private_key_file.read_bytes()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read SALESFORCE_PRIVATE_KEY_FILE {creds.private_key_file}: "
                    f"{exc.strerror}"
                ) from None
        claims = {
            "iss": client_id,
            "sub": creds.username,
            "aud": f"https://{creds.domain}.salesforce.com",
            "exp": int((datetime.now(timezone.utc) + timedelta(minutes=3)).timestamp()),
        }
        try:
            return jwt.encode(claims, key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError):
            raise ConfigError("the Salesforce private key is not a valid RSA PEM key") from None


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delta-seconds form; an HTTP date is ignored)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
