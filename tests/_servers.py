"""Real servers for tests: moto's S3 in server mode, and private redis-server processes.

Each server listens on 127.0.0.1 on a free port and is stopped by its owner (a fixture);
nothing here touches a server the test did not start.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout:g}s")
        time.sleep(0.05)


class MotoServer:
    """moto's S3 in server mode: a real S3 HTTP endpoint on 127.0.0.1."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log = open(log_dir / "moto.log", "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=log_dir,
            env={**os.environ, "MOTO_RECORDER_FILEPATH": str(log_dir / "recording.jsonl")},
        )
        _wait_until(self._answers, f"moto server on port {self.port}")

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("moto server exited; see moto.log")
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=1) as resp:
            return bool(resp.status == 200)

    @property
    def storage_options(self) -> dict[str, Any]:
        """What ``build(storage_options=...)`` needs to reach this endpoint."""
        return {"key": "testing", "secret": "testing", "endpoint_url": self.endpoint}

    def new_bucket(self) -> str:
        """Create a bucket with a fresh name and return the name."""
        import s3fs

        name = f"cairn-{uuid.uuid4().hex[:12]}"
        fs = s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options)
        fs.mkdir(name)
        return name

    def api(self, path: str, data: bytes | None = None) -> bytes:
        """Call moto's own API (``/moto-api/...``)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/{path}", data=data)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return bytes(resp.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


class RedisServer:
    """A private ``redis-server`` process without persistence.

    ``password`` turns on ``requirepass``; ``tls_dir`` (holding ``cert.pem`` and ``key.pem``
    from :func:`make_tls_certificate`) serves TLS only.
    """

    def __init__(
        self,
        program: str,
        work_dir: Path,
        *,
        port: int | None = None,
        password: str | None = None,
        tls_dir: Path | None = None,
    ) -> None:
        self.program = program
        self.work_dir = work_dir
        self.port = port or free_port()
        self.password = password
        self.tls_dir = tls_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls_dir else "redis"
        auth = f":{self.password}@" if self.password else ""
        url = f"{scheme}://{auth}127.0.0.1:{self.port}/0"
        if self.tls_dir:
            url += f"?ssl_ca_certs={self.tls_dir / 'cert.pem'}"
        return url

    def start(self) -> None:
        """Start (or restart, on the same port) the server and wait until it answers."""
        args = [
            self.program,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.work_dir),
            "--logfile",
            str(self.work_dir / f"redis-{self.port}.log"),
        ]
        if self.tls_dir:
            args += [
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                "--tls-cert-file",
                str(self.tls_dir / "cert.pem"),
                "--tls-key-file",
                str(self.tls_dir / "key.pem"),
                "--tls-ca-cert-file",
                str(self.tls_dir / "cert.pem"),
                "--tls-auth-clients",
                "no",
            ]
        else:
            args += ["--port", str(self.port)]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_until(self._answers, f"redis-server on port {self.port}")

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited; see {self.work_dir}")
        client = self.client()
        try:
            return bool(client.ping())
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL the server (as a crash would) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def make_tls_certificate(directory: Path) -> Path:
    """Write a self-signed certificate for 127.0.0.1 (``cert.pem``, ``key.pem``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return directory
