"""The runtime: import a job module, hand its entrypoint a context, and judge the result.

The same code runs a job from ``dagplane run`` and inside an Airflow task; only the context
differs. A non-zero exit or an exception becomes ``JobFailedError`` with the job's message, and
the values of the job's declared secrets are masked in everything the job prints or logs.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagplane.errors import JobDeclarationError, JobFailedError
from dagplane.jobs.context import JobContext, present_secret_values
from dagplane.jobs.redaction import Redactor, redacting
from dagplane.jobs.spec import Job

__all__ = ["load_job", "run_job", "run_module"]

log = logging.getLogger("dagplane.runtime")


def load_job(module: str, packages_dir: Path | None = None) -> tuple[Any, bool, Job | None]:
    """Import a job module and return ``(entrypoint, legacy, job)``."""
    if packages_dir is not None and str(packages_dir) not in sys.path:
        sys.path.insert(0, str(packages_dir))
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # the job's own import-time code: its failure, not dagplane's
        message = f"cannot import {module}: {type(exc).__name__}: {exc}"
        raise JobFailedError(module.rsplit(".", 1)[-1], message) from None
    declared = getattr(mod, "JOB", None)
    path = getattr(mod, "__file__", module)
    if isinstance(declared, Job):
        return declared.entrypoint, False, declared
    if isinstance(declared, tuple) and len(declared) == 2 and callable(declared[0]):
        return declared[0], True, None
    raise JobDeclarationError(
        "JOB is not a Job(...) or an (entrypoint, description) tuple at run time",
        path=str(path),
        hint="declare JOB = Job(entrypoint=run, ...)",
    )


def run_module(
    module: str,
    *,
    job_id: str | None = None,
    partition: str | None = None,
    args: tuple[str, ...] = (),
    packages_dir: Path | None = None,
    context: dict[str, Any] | None = None,
    extra_secrets: tuple[str, ...] = (),
) -> int:
    """Import ``module`` and run its job; see ``run_job``."""
    entrypoint, legacy, job = load_job(module, packages_dir)
    secret_names = {s.name: s.all_keys for s in job.secrets} if job else {}
    ctx = JobContext(
        job_id=job_id or module.rsplit(".", 1)[-1],
        run_id=(context or {}).get("run_id") or f"manual__{uuid.uuid4().hex[:12]}",
        partition=partition,
        args=tuple(args),
        secret_names=secret_names,
        **{k: v for k, v in (context or {}).items() if k != "run_id"},
    )
    return run_job(entrypoint, ctx, legacy=legacy, extra_secrets=extra_secrets)


def run_job(
    entrypoint: Any, ctx: JobContext, *, legacy: bool, extra_secrets: tuple[str, ...] = ()
) -> int:
    """Run ``entrypoint`` with secrets masked; return 0 or raise ``JobFailedError``.

    Legacy entrypoints get ``argv`` (the args, plus ``--partition P`` when partitioned); typed
    ones get the ``JobContext``. Both see the context as ``DAGPLANE_*`` environment variables.
    """
    redactor = Redactor([*present_secret_values(ctx.secret_names), *extra_secrets])
    with _exported(ctx.env()), redacting(redactor):
        log.info("running job %s (run %s, partition %s)", ctx.job_id, ctx.run_id, ctx.partition)
        try:
            if legacy:
                argv = [*ctx.args, *(["--partition", ctx.partition] if ctx.partition else [])]
                code = entrypoint(argv)
            else:
                code = entrypoint(ctx)
        except JobFailedError:
            raise
        except SystemExit as exc:
            if isinstance(exc.code, str):  # sys.exit("message"): a failure with that message
                raise JobFailedError(ctx.job_id, redactor(exc.code), exit_code=1) from None
            code = exc.code
        except Exception as exc:
            # The traceback is logged masked; the raw exception is not chained, because the
            # task runner would print the cause (and any secret in it) unmasked.
            log.error("job %s raised:\n%s", ctx.job_id, redactor(traceback.format_exc()))
            message = redactor(f"{type(exc).__name__}: {exc}")
            raise JobFailedError(ctx.job_id, message) from None
    if code is None or (code == 0 and not isinstance(code, bool)):
        return 0
    if isinstance(code, bool) or not isinstance(code, int):
        raise JobFailedError(ctx.job_id, f"entrypoint returned {code!r}, expected an int")
    raise JobFailedError(ctx.job_id, f"exited with code {code}", exit_code=code)


@contextmanager
def _exported(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
