"""Checks shared by job fields: names, schedules, durations, Kubernetes quantities.

Each check raises ``FieldProblem``, a ``ValueError`` that carries a fix hint, so the
discovery stage can turn it into a breadcrumb error (file:line: JOB.field: problem (fix: ...)).
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = [
    "AIRFLOW_PRESETS",
    "FieldProblem",
    "check_cron",
    "check_dns_label",
    "check_dns_subdomain",
    "check_env_key",
    "check_identifier",
    "check_quantity",
    "parse_duration",
]

AIRFLOW_PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"}
)
# Job and package names become Python module names, Airflow dag ids and (with '_' -> '-')
# Kubernetes DNS-1123 labels, so they are the intersection of the three alphabets.
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(
    r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$"
)
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUANTITY = re.compile(r"^(?:\d+(?:\.\d+)?|\.\d+)(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_DURATION_PART = re.compile(r"(\d+)(d|h|m|s)")
_DURATION = re.compile(r"^(?:\d+[dhms])+$")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class FieldProblem(ValueError):
    """A field value is wrong; ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field  # for checks across fields, which pydantic reports without a field


def check_identifier(value: str, what: str, *, max_length: int = 63) -> str:
    """Lowercase letters, digits and single underscores, starting with a letter."""
    if not _IDENTIFIER.match(value):
        raise FieldProblem(
            f"{what} {value!r} is not a valid name",
            "use lowercase letters, digits and single underscores, starting with a letter "
            "(e.g. 'daily_report')",
        )
    if len(value) > max_length:
        raise FieldProblem(
            f"{what} {value!r} is {len(value)} characters long (at most {max_length})",
            "shorten it: it becomes part of Airflow and Kubernetes names",
        )
    return value


def check_dns_label(value: str, what: str) -> str:
    """A Kubernetes DNS-1123 label: lowercase alphanumerics and '-', at most 63 characters."""
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise FieldProblem(
            f"{what} {value!r} is not a valid DNS-1123 label",
            "use at most 63 lowercase letters, digits and '-', starting and ending with a "
            "letter or digit (e.g. 'salesforce')",
        )
    return value


def check_dns_subdomain(value: str, what: str) -> str:
    """A Kubernetes object name (DNS-1123 subdomain), as Secrets use."""
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise FieldProblem(
            f"{what} {value!r} is not a valid Kubernetes name",
            "use lowercase letters, digits, '-' and '.', starting and ending with a letter "
            "or digit (e.g. 'warehouse-postgres')",
        )
    return value


def check_env_key(value: str, what: str) -> str:
    """A secret key that can also be exported as an environment variable."""
    if not _ENV_KEY.match(value):
        raise FieldProblem(
            f"{what} {value!r} is not a valid key",
            "use letters, digits and '_', not starting with a digit (e.g. 'POSTGRES_PASSWORD'),"
            " so the key can be exported as an environment variable",
        )
    return value


def check_cron(value: str) -> str:
    """An Airflow preset or a five-field cron expression."""
    if value.startswith("@"):
        if value not in AIRFLOW_PRESETS:
            raise FieldProblem(
                f"{value!r} is not an Airflow schedule preset",
                f"use one of {', '.join(sorted(AIRFLOW_PRESETS))}, a cron expression, or None",
            )
        return value
    from croniter import croniter

    fields = value.split()
    if len(fields) != 5 or not croniter.is_valid(value):
        raise FieldProblem(
            f"{value!r} is not a valid cron expression",
            "use five fields 'minute hour day-of-month month day-of-week' such as '0 * * * *',"
            " a preset such as '@daily', or None for manual runs",
        )
    return value


def parse_duration(value: object, what: str) -> timedelta:
    """Seconds as a number, a string like '90s', '5m', '1h30m', '2d', or a ``timedelta``."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        seconds = -1.0
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.match(value):
        seconds = float(sum(int(n) * _SECONDS[u] for n, u in _DURATION_PART.findall(value)))
    else:
        raise FieldProblem(
            f"{what} {value!r} is not a duration",
            "give seconds as a number, a string such as '90s', '5m' or '1h30m', "
            "or timedelta(minutes=5)",
        )
    if seconds <= 0:
        raise FieldProblem(f"{what} must be positive, got {value!r}", "use a positive duration")
    return timedelta(seconds=seconds)


def check_quantity(value: object, what: str) -> str:
    """A Kubernetes resource quantity such as '500m', '2', '1Gi'."""
    text = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _QUANTITY.match(text):
        raise FieldProblem(
            f"{what} {value!r} is not a Kubernetes quantity",
            "use a number with an optional unit, e.g. cpu='500m' or '2', memory='512Mi' or '2Gi'",
        )
    return text
