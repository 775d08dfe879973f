"""The Redis lock: leases with a time-to-live on a Redis server, for runners on many machines.

A lease is a Redis key ``cairn:lock:{workspace}::{task id}`` set with ``SET NX PX`` to a
value naming its holder (host, process, time). While the task runs, one background thread per
lock renews every held lease (a compare-and-``PEXPIRE`` script, all leases in one round trip)
every third of the time-to-live; releasing is a compare-and-``DEL``, so a runner never deletes
a lease that has passed to another, sent by the same thread (all leases released meanwhile in
one round trip) so the scheduling loop waits for Redis once per task, not twice. A runner
that dies stops renewing: its leases expire after the time-to-live and another runner takes
the tasks over.

URLs: ``redis://[[user]:password@]host:port/db`` or ``rediss://...`` for TLS (redis-py's URL
options, such as ``?ssl_ca_certs=/path/ca.pem``, are honoured). cairn's own option:
``?ttl=SECONDS``, the lease time-to-live (default 30 s).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import logging
import os
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cairn._errors import LockError, MissingExtraError

__all__ = ["DEFAULT_TTL", "RedisLock", "redact"]

log = logging.getLogger("cairn.locks")

#: Lease time-to-live in seconds when neither the URL nor the caller sets one.
DEFAULT_TTL = 30.0
#: The longest a call to Redis waits for an answer (a quarter of the time-to-live when
#: that is shorter), unless the URL sets ``socket_timeout``.
MAX_SOCKET_TIMEOUT = 5.0

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


#: Query options whose values are secrets (matched on the lowered name), masked in messages.
_SECRET_WORDS = ("password", "passwd", "pwd", "pass", "secret", "token", "key", "auth")


def redact(url: str) -> str:
    """``url`` with its password, in the user part or as a query option such as
    ``?password=``, replaced by ``***`` (for messages)."""
    parts = urlsplit(url)
    if parts.password is not None:
        user = parts.username or ""
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=f"{user}:***@{host}")
    if parts.query:
        query = parse_qsl(parts.query, keep_blank_values=True)
        masked = [
            (name, "***" if any(w in name.lower() for w in _SECRET_WORDS) else value)
            for name, value in query
        ]
        parts = parts._replace(query=urlencode(masked, safe="*"))
    return urlunsplit(parts)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).rstrip('.')}"


def _split_ttl(url: str) -> tuple[str, float | None]:
    """Take cairn's ``ttl`` option out of the URL's query; return the URL and the ttl."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ttl = None
    kept = []
    for name, value in query:
        if name == "ttl":
            try:
                ttl = float(value)
            except ValueError:
                raise LockError(
                    f"the lock URL {redact(url)} has ttl={value!r}; give the lease "
                    "time-to-live in seconds, like ?ttl=30"
                ) from None
        else:
            kept.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(kept))), ttl


class _RedisLease:
    """One held key; released once (later calls do nothing)."""

    __slots__ = ("acquired", "key", "lost", "owner", "released", "token")

    def __init__(self, owner: RedisLock, key: str, token: str) -> None:
        self.owner = owner
        self.key = key
        self.token = token
        self.released = False
        self.lost = False
        self.acquired = time.monotonic()

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self.owner._release(self)


class RedisLock:
    """Leases on a Redis server (extra ``redis``).

    Args:
        url: ``redis://[[user]:password@]host:port/db`` or ``rediss://`` for TLS;
            ``?ttl=SECONDS`` sets the lease time-to-live.
        workspace: the workspace the build uses (keys already include it; kept for the
            lock registry's signature).
        ttl: the lease time-to-live in seconds (overrides the URL). A runner that dies
            holds its tasks for at most this long.
        prefix: the prefix of every key.

    Raises:
        LockError: when Redis cannot be reached, naming where it tried.
        MissingExtraError: when redis-py is not installed.
    """

    exclusive = True

    def __init__(
        self,
        url: str,
        *,
        workspace: str | None = None,
        ttl: float | None = None,
        prefix: str = "cairn:lock:",
    ) -> None:
        try:
            import redis
            from redis.backoff import ExponentialWithJitterBackoff
            from redis.retry import Retry
        except ImportError as exc:
            raise MissingExtraError.for_module("redis", "redis", "the Redis lock") from exc
        del workspace
        clean_url, url_ttl = _split_ttl(url)
        if ttl is None:
            ttl = url_ttl if url_ttl is not None else DEFAULT_TTL
        self.ttl = float(ttl)
        if not self.ttl > 0:
            raise LockError(f"the lease time-to-live must be positive, not {self.ttl!r}")
        self.where = redact(url)
        self.prefix = prefix
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        # a server that stops answering (paused, or a network that drops packets) makes a
        # call fail after this long instead of blocking the build until it answers again;
        # socket_timeout in the URL wins
        timeout = min(MAX_SOCKET_TIMEOUT, max(0.1, self.ttl / 4))
        try:
            self._client: Any = redis.Redis.from_url(
                clean_url,
                retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 2),
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            )
            self._client.ping()
        except (*self._errors, ValueError, TypeError) as exc:
            raise LockError(
                f"cannot use the Redis lock server at {self.where}: {_describe(exc)}. "
                "Start Redis there, or fix the lock URL "
                "(redis://[:password@]host:port/db, rediss://... for TLS)."
            ) from exc
        self._ttl_ms = max(1, int(self.ttl * 1000))
        self._renew = self._client.register_script(_RENEW)
        self._release_script = self._client.register_script(_RELEASE)
        self._holder = f"pid {os.getpid()} on {socket.gethostname()}"
        self._ids = itertools.count(1)
        self._held: dict[str, _RedisLease] = {}
        self._to_release: list[_RedisLease] = []
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._renewer: threading.Thread | None = None
        #: when renewals last failed for want of an answer (monotonic), None if never
        self._unreachable: float | None = None

    def __repr__(self) -> str:
        return f"RedisLock({self.where!r}, ttl={self.ttl:g})"

    def _lost_connection(self, exc: BaseException) -> LockError:
        return LockError(
            f"lost the connection to the Redis lock server at {self.where} "
            f"({_describe(exc)}). Tasks that finished are stored and nothing "
            "stored is corrupted; when Redis is back, build again to resume."
        )

    def acquire(self, key: str) -> _RedisLease | None:
        """Take the lease on ``key`` if no one holds it; ``None`` otherwise.

        Raises:
            LockError: when Redis stopped answering.
        """
        rkey = self.prefix + key
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        token = f"{self._holder} since {now} (lease {next(self._ids)})"
        try:
            taken = self._client.set(rkey, token, nx=True, px=self._ttl_ms)
        except self._errors as exc:
            raise self._lost_connection(exc) from exc
        if not taken:
            return None
        lease = _RedisLease(self, rkey, token)
        with self._guard:
            self._held[rkey] = lease
            if self._renewer is None:
                self._renewer = threading.Thread(
                    target=self._renew_loop, name="cairn-redis-lease", daemon=True
                )
                self._renewer.start()
        return lease

    def _release(self, lease: _RedisLease) -> None:
        """Queue the lease for the background thread, which gives it back within one round
        trip: the scheduling loop does not wait for Redis a second time per task.
        """
        with self._guard:
            self._held.pop(lease.key, None)
            self._to_release.append(lease)
        self._wake.set()

    def _flush_releases(self) -> None:
        """Give back every queued lease in one round trip (compare-and-``DEL`` each)."""
        with self._guard:
            leases, self._to_release = self._to_release, []
        if not leases:
            return
        pipe = self._client.pipeline(transaction=False)
        for lease in leases:
            self._release_script(keys=[lease.key], args=[lease.token], client=pipe)
        try:
            deleted = pipe.execute()
        except self._errors as exc:
            self._unreachable = time.monotonic()
            log.warning("could not give back %d lease(s): %s", len(leases), _describe(exc))
            return  # they expire after the time-to-live
        for lease, ok in zip(leases, deleted, strict=True):
            if not ok and not lease.lost:
                lease.lost = True
                self._warn_lost(lease)

    def _warn_lost(self, lease: _RedisLease) -> None:
        if self._unreachable is not None and self._unreachable >= lease.acquired:
            log.warning(
                "the lease %s ended while the Redis lock server at %s did not answer (for "
                "longer than the %gs time-to-live, so it could not be renewed); another "
                "runner may have started the task since. Outputs are written atomically, so "
                "nothing is corrupted.",
                lease.key,
                self.where,
                self.ttl,
            )
            return
        log.warning(
            "the lease %s expired while its task ran (longer than the %gs time-to-live "
            "without renewal); another runner may have run the task too. Outputs are written "
            "atomically, so nothing is corrupted.",
            lease.key,
            self.ttl,
        )

    def _renew_loop(self) -> None:
        """Give back released leases as soon as they are queued, and every third of the
        time-to-live extend every held lease, each batch in one round trip.
        """
        period = self.ttl / 3
        next_renewal = time.monotonic() + period
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_renewal - time.monotonic()))
            self._wake.clear()
            self._flush_releases()
            if time.monotonic() < next_renewal:
                continue
            next_renewal = time.monotonic() + period
            with self._guard:
                leases = list(self._held.values())
            if not leases:
                continue
            try:
                pipe = self._client.pipeline(transaction=False)
                for lease in leases:
                    self._renew(keys=[lease.key], args=[lease.token, self._ttl_ms], client=pipe)
                renewed = pipe.execute()
            except self._errors as exc:
                self._unreachable = time.monotonic()
                log.warning("could not renew leases: %s", self._lost_connection(exc))
                continue
            for lease, ok in zip(leases, renewed, strict=True):
                if not ok and not lease.released and not lease.lost:
                    lease.lost = True
                    self._warn_lost(lease)

    def holder(self, key: str) -> str | None:
        """Who holds ``key``: ``"pid N on HOST since TIME (lease K)"``, or None if free."""
        try:
            value = self._client.get(self.prefix + key)
        except self._errors:
            return None
        if value is None:
            return None
        return str(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)

    def close(self) -> None:
        """Stop renewing, give back leases still held or queued, and close the connections."""
        self._stop.set()
        self._wake.set()
        if self._renewer is not None:
            self._renewer.join()
        with self._guard:
            leases = list(self._held.values())
        for lease in leases:
            lease.release()
        self._flush_releases()
        self._client.close()
