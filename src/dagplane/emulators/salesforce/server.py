"""The emulated endpoints: login, REST (describe, query, limits), Bulk 2.0 query jobs, control.

Each endpoint takes a ``Request`` and returns a ``Response`` or raises ``ApiError``; the
HTTP plumbing (TLS, session checks, faults, headers) lives in ``handler.py``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .control import run_control
from .csvout import CsvWriter
from .encoding import accepts_gzip
from .errors import ApiError, EmulatorUsageError
from .faultdata import nul_records
from .formats import CsvDialect
from .jobs import DELIMITERS, LINE_ENDINGS, decode_locator, encode_locator
from .limits import org_limits, version_list
from .query import build_plan, json_records

if TYPE_CHECKING:
    from .emulator import SalesforceEmulator

DEFAULT_BULK_PAGE = 50_000
_TERMINAL_JOB_STATES = ("JobComplete", "Aborted", "Failed")
_VERSION = r"/services/data/v(?P<version>\d+\.\d+)"


@dataclass
class Request:
    emu: SalesforceEmulator
    method: str
    path: str
    params: dict[str, str]
    headers: Any
    body: bytes
    match: re.Match[str]

    @property
    def version(self) -> str:
        return self.match["version"]

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Invalid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        return value


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(value).encode(), headers=headers or {})


def _not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def soap_login(req: Request) -> Response:
    status, xml = req.emu.sessions.soap_login(req.body, req.emu.url, req.match["version"])
    req.emu.count("logins" if status == 200 else "login_failures")
    return Response(status, xml.encode(), "text/xml;charset=UTF-8")


def oauth_token(req: Request) -> Response:
    form = dict(parse_qsl(req.body.decode(errors="replace")))
    host = req.headers.get("Host") or ""
    status, body = req.emu.sessions.oauth_token(
        form, req.headers.get("Authorization"), req.emu.url, host
    )
    req.emu.count("logins" if status == 200 else "login_failures")
    return json_response(body, status)


def versions(req: Request) -> Response:
    return json_response(version_list())


def resources(req: Request) -> Response:
    base = f"/services/data/v{req.version}"
    names = ["sobjects", "query", "queryAll", "limits", "jobs"]
    return json_response({name: f"{base}/{name}" for name in names})


def global_describe(req: Request) -> Response:
    req.emu.count("describes")
    objects = [obj.summary(req.version) for obj in req.emu.store.objects.values()]
    return json_response({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})


def describe(req: Request) -> Response:
    obj = req.emu.store.find(req.match["object"])
    if obj is None:
        raise _not_found()
    req.emu.count("describes")
    if req.match["describe"]:
        return json_response(obj.describe(req.version))
    return json_response({"objectDescribe": obj.summary(req.version), "recentItems": []})


def limits(req: Request) -> Response:
    return json_response(org_limits(req.emu.api_usage, req.emu.jobs.created))


def _check_window(req: Request, window_ms: int) -> str | None:
    """Fire ``query_timeout`` if armed and the query's time window is too wide."""
    armed = req.emu.faults.armed("query_timeout")
    if armed and window_ms > armed["max_window_seconds"] * 1000:
        req.emu.faults.take("query_timeout")
        return "Your query request was running for too long."
    return None


def rest_query(req: Request) -> Response:
    endpoint = req.match["endpoint"]
    locator = req.match["locator"]
    emu = req.emu
    if locator:
        query_id, open_query, cursor = emu.cursors.find(locator)
    else:
        text = req.params.get("q")
        if not text:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        plan = build_plan(emu.store, text, include_deleted=endpoint == "queryAll")
        timeout = _check_window(req, plan.window_ms)
        if timeout:
            raise ApiError(400, "QUERY_TIMEOUT", timeout)
        emu.count("queries")
        if plan.count_only or plan.aggregate is not None:
            # COUNT() answers in totalSize with no records (see ``query._count_plan``); as
            # REST clients read it, e.g. ForceCLI/force issue #21 and hiratake55/RForcecom
            # pull request #8: "no records are returned, but totalSize is populated".
            emu.count("query_pages")
            records = plan.aggregate or []
            return json_response({"totalSize": plan.total, "done": True, "records": records})
        query_id, open_query = emu.cursors.open(plan)
        cursor = plan.start
    plan = open_query.plan
    batch = emu.query_batch_size
    options = req.headers.get("Sforce-Query-Options") or ""
    if m := re.search(r"batchSize=(\d+)", options):
        batch = min(max(int(m[1]), 200), 2000)
    segments, after = plan.page(cursor, batch)
    records = json_records(plan, segments, req.version)
    if emu.faults.fire("nul_bytes"):
        records = nul_records(plan, records)
    body: dict[str, Any] = {"totalSize": plan.total, "done": after is None, "records": records}
    if after is not None:
        open_query.cursors[after[2]] = after
        body["nextRecordsUrl"] = f"/services/data/v{req.version}/{endpoint}/{query_id}-{after[2]}"
    emu.count("query_pages")
    emu.count("query_rows", len(records))
    payload = json.dumps(body).encode()
    if delay := emu.faults.take("slow_page"):
        time.sleep(delay["delay"])
    if emu.faults.fire("malformed_page"):
        payload = payload[: len(payload) // 2]
    return Response(200, payload)


def create_job(req: Request) -> Response:
    spec = req.json()
    operation = spec.get("operation")
    if operation not in ("query", "queryAll"):
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    delimiter = spec.get("columnDelimiter", "COMMA")
    line_ending = spec.get("lineEnding", "LF")
    if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
        raise ApiError(400, "INVALIDJOB", "InvalidJob : bad columnDelimiter or lineEnding")
    emu = req.emu
    plan = build_plan(emu.store, spec.get("query") or "", operation == "queryAll", bulk=True)
    job = emu.jobs.add(
        operation=operation,
        plan=plan,
        writer=CsvWriter(
            plan.fields,
            CsvDialect(emu.csv_dialect, DELIMITERS[delimiter]),
            LINE_ENDINGS[line_ending],
        ),
        version=req.version,
        column_delimiter=delimiter,
        line_ending=line_ending,
        in_progress_polls=emu.bulk_in_progress_polls,
        cache_key=(
            spec.get("query"), operation, emu.csv_dialect, delimiter, line_ending,
            emu.store.revision,
        ),
    )  # fmt: skip
    emu.count("bulk_jobs")
    timeout = _check_window(req, plan.window_ms)
    failed = emu.faults.take("bulk_job_failed") or emu.faults.take("bulk_job_free_text")
    if timeout or failed:
        job.final_state = "Failed"
        job.error_message = f"QUERY_TIMEOUT: {timeout}" if timeout else failed["message"]
    return json_response(job.info())


def job_status(req: Request) -> Response:
    job = req.emu.jobs.get(req.match["job"])
    if req.method == "GET":
        return json_response(job.poll())
    if req.method == "DELETE":
        # Bulk API 2.0 and Bulk API Developer Guide, "Delete a Query Job": only a JobComplete,
        # Aborted or Failed job can be deleted; otherwise 400 with this API_ERROR body.
        if job.state not in _TERMINAL_JOB_STATES:
            message = "Error encountered when deleting the job because the job is not terminated"
            raise ApiError(400, "API_ERROR", message)
        req.emu.jobs.remove(job.id)
        return Response(204, content_type="")
    state = req.json().get("state")
    if state != "Aborted" or job.state in ("JobComplete", "Failed", "Aborted"):
        raise ApiError(400, "INVALIDJOBSTATE", f"Cannot change job {job.id} to state {state}")
    job.state = job.final_state = "Aborted"
    return json_response(job.info())


def job_list(req: Request) -> Response:
    records = [job.info() | {"jobType": "V2Query"} for job in req.emu.jobs.all()]
    return json_response({"done": True, "records": records, "nextRecordsUrl": None})


def job_results(req: Request) -> Response:
    emu = req.emu
    job = emu.jobs.get(req.match["job"])
    if job.state != "JobComplete" or job.plan is None or job.writer is None:
        # Bulk API 2.0 and Bulk API Developer Guide, "Get Results for a Query Job": "The job
        # must have the state JobComplete". The guide shows no error body for this case; the
        # answer is a 400 shaped like its other job lifecycle errors ("Delete a Query Job").
        message = f"Job {job.id} is in state {job.state}: results need state JobComplete"
        raise ApiError(400, "API_ERROR", message)
    locator = req.params.get("locator", "")
    cursor = decode_locator(locator) if locator and locator != "null" else job.plan.start
    size = int(req.params.get("maxRecords") or DEFAULT_BULK_PAGE)
    gzip = accepts_gzip(req.headers.get("Accept-Encoding"))
    nul = emu.faults.fire("nul_bytes")
    page = job.results(cursor, max(size, 1), gzip=gzip, nul=nul)
    body, rows, after = page.body, page.rows, page.after
    changed = False
    emu.count("bulk_pages")
    emu.count("bulk_rows", rows)
    if delay := emu.faults.take("slow_page"):
        time.sleep(delay["delay"])
    if cut := emu.faults.take("truncated_page"):
        body, changed = body[: int(len(body) * cut["fraction"])], True
    if emu.faults.fire("malformed_page"):
        header, _, rest = body.partition(job.writer.newline.encode())
        broken = rest.split(job.writer.delimiter.encode(), 1)[-1]
        body, changed = header + job.writer.newline.encode() + b'"' + broken, True
    headers = {
        "Sforce-Locator": encode_locator(after) if after else "null",
        "Sforce-NumberOfRecords": str(rows),
    }
    if page.gzipped is not None and not changed:
        body = page.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(200, body, "text/csv; charset=UTF-8", headers)


def control(req: Request) -> Response:
    payload = req.json() if req.body else dict(req.params)
    try:
        return json_response(run_control(req.emu, req.match["op"], payload))
    except (EmulatorUsageError, TypeError) as exc:
        return json_response({"error": str(exc)}, 400)


# (methods, path pattern, endpoint, needs an API session)
Endpoint = Callable[[Request], Response]
Route = tuple[str, re.Pattern[str], Endpoint, bool]
ROUTES: list[Route] = [
    (m, re.compile(p), h, api)
    for m, p, h, api in [
        ("POST", r"/services/oauth2/token", oauth_token, False),
        ("POST", r"/services/Soap/u/(?P<version>\d+\.\d+)(?:/.*)?", soap_login, False),
        ("GET", r"/services/data", versions, False),
        ("GET", _VERSION, resources, True),
        ("GET", _VERSION + r"/sobjects", global_describe, True),
        ("GET", _VERSION + r"/sobjects/(?P<object>\w+)(?P<describe>/describe)?", describe, True),
        ("GET", _VERSION + r"/limits", limits, True),
        (
            "GET",
            _VERSION + r"/(?P<endpoint>query|queryAll)(?:/(?P<locator>[\w-]+))?",
            rest_query,
            True,
        ),
        ("POST", _VERSION + r"/jobs/query", create_job, True),
        ("GET", _VERSION + r"/jobs/query", job_list, True),
        ("GET|PATCH|DELETE", _VERSION + r"/jobs/query/(?P<job>\w+)", job_status, True),
        ("GET", _VERSION + r"/jobs/query/(?P<job>\w+)/results", job_results, True),
        ("GET|POST", r"/__emulator__/(?P<op>\w+)", control, False),
    ]
]
