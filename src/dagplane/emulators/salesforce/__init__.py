"""A local Salesforce API emulator for dagplane's demo, tests and benchmarks.

It serves, over HTTPS on 127.0.0.1, what the unmodified ``simple-salesforce`` client uses:
SOAP ``login`` and the OAuth 2.0 token endpoint (password, client credentials, JWT bearer),
REST describe / query / queryAll / limits with ``nextRecordsUrl`` pagination, and Bulk API
2.0 query jobs with CSV result pages. Data is deterministic: record ``i`` of an object is
computed from ``(seed, object, i)``, so millions of rows cost no memory; changes made through
the control API live in an overlay stamped later than every seeded record.

Trusting the certificate: the emulator writes a fresh CA to ``emu.ca_bundle`` at start.
``requests`` lets the ``REQUESTS_CA_BUNDLE`` environment variable override a Session's
``verify``, so build the session like this and hand it to simple-salesforce::

    session = requests.Session()
    session.trust_env = False          # ignore REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
    session.verify = str(emu.ca_bundle)
    session_id, instance = SalesforceLogin(
        username=..., password=..., security_token=..., session=session,
        scratch_url=emu.url,           # simple-salesforce posts the SOAP login here
    )
    sf = Salesforce(session_id=session_id, instance_url=emu.url, session=session)

simple-salesforce builds login URLs as ``https://<domain>.salesforce.com``; point it at the
emulator with ``scratch_url`` (SOAP), or call ``simple_salesforce.login.token_login`` with
``f"{emu.url}/services/oauth2/token"`` (OAuth flows). The login URL is the instance URL.

Responses follow what Salesforce sends, each behaviour naming the public document it follows
in a comment: Bulk results fully quoted with Java-style numbers (``csv_dialect="minimal"`` keeps
the older minimally quoted CSV), gzip when the client accepts it, documented job info keys and
lifecycle errors, SOQL literal rules, OAuth checks (JWT signature, iss, sub, aud, exp; client
credentials only on My Domain).

Seeded stamps rise with the record number over the two years before 2026-01-01T00:00:00Z
(fixed, so runs are reproducible); a ``SystemModstamp``/``LastModifiedDate`` window jumps to
its first record arithmetically. Changed records are stamped with the current time.

Credentials are fixed demo values (``DEFAULT_CREDENTIALS``, ``emu.credentials``); the CLI
prints the username only. Control and faults: ``SalesforceEmulator`` (Python), ``control.py``
(HTTP, for an emulator running as a separate process via ``python -m
dagplane.emulators.salesforce``), ``faults.py`` (kinds and options) and
``bench_support.start_emulator_process`` (a child process plus ``SALESFORCE_*`` settings).
"""

from __future__ import annotations

from .auth import Credentials
from .cli import run_server
from .emulator import STAT_KEYS, SalesforceEmulator
from .errors import EmulatorError, EmulatorUsageError
from .faults import FAULT_KINDS

DEFAULT_CREDENTIALS = Credentials()

__all__ = [
    "DEFAULT_CREDENTIALS",
    "FAULT_KINDS",
    "STAT_KEYS",
    "Credentials",
    "EmulatorError",
    "EmulatorUsageError",
    "SalesforceEmulator",
    "run_server",
]
