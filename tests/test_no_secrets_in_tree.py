"""No secret values in the repository: detect-secrets (default plugins) over every tracked file.

dagplane's own vocabulary trips the keyword detector: ``Secret`` is a Kubernetes object and a
job option, so ``secretKey: SALESFORCE_PASSWORD`` names a key, never holds a value. What the
scan may ignore, and why:

- in test files, deliberate fake credentials carry ``# pragma: allowlist secret`` (or
  ``# pragma: allowlist nextline secret`` above a long line);
- ``declared_names``: strings that are exactly the name or a key of a Secret the project
  declares (job specs, every environment's platform Secrets), wherever they appear:
  generated ExternalSecrets, Helm values and ``platform.yaml`` name them;
- ``NOT_SECRETS``/``NOT_SECRET_LINES``: a few exact non-secrets in files the scan cannot
  annotate (``src/`` and ``README.md``), each explained below.

No file is excluded: lockfiles and ``requirements.txt`` hash lists do not trip the default
plugins (a hash is ``sha256:<hex>``, not a bare quoted hex or base64 string).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dagplane.deploy import Platform

ROOT = Path(__file__).resolve().parents[1]

NOT_SECRETS = [
    # Module paths of the lazy-export map ("Secret": "dagplane.jobs.spec") and its pin test.
    r"^dagplane(\.[a-z_]+)+$",
    # An apiVersion: EXTERNAL_SECRETS_API = "external-secrets.io/v1".
    r"^external-secrets\.io/v1$",
    # Placeholders in documentation: README's postgresql://user:pw@host/db, a docstring's
    # scheme://user:PASSWORD@ shape.
    r"^(pw|PASSWORD)$",
]
NOT_SECRET_LINES = [
    # README's command table: | `dagplane render secrets ...` | write `deploy/secrets/...` |
    r"^\| `dagplane [a-z]+",
]


def detect_secrets() -> str:
    found = Path(sys.executable).with_name("detect-secrets")
    if not found.exists():
        pytest.skip("detect-secrets is not installed (it is in the dev dependency group)")
    return str(found)


def tracked_files() -> list[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot list the tracked files")
    done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout: {done.stderr.decode().strip()}")
    # detect-secrets drops paths that resolve outside its working directory (symlinks).
    files = [name for name in done.stdout.decode().split("\0") if name]
    return [name for name in files if (ROOT / name).is_file() and not (ROOT / name).is_symlink()]


def declared_names(platforms: Iterable[Platform] = ()) -> set[str]:
    """Every Secret name and key the project declares (jobs, each environment's platform
    Secrets, and those of ``platforms``): names, not values."""
    from dagplane.config import load_config
    from dagplane.deploy import load_platform
    from dagplane.deploy._platform_secrets import declared_names
    from dagplane.jobs.discovery import discover

    config = load_config(cwd=ROOT)
    names: set[str] = set()
    for spec in discover(config.packages_dir, root=config.root).jobs:
        for secret in spec.options.secrets:
            for name, keys in secret.sources().items():
                names.update((name, *keys))
    committed = [load_platform(p) for p in sorted(config.deploy_dir.glob("*/platform.yaml"))]
    # Secret names the generated Helm values hold (say the unused Celery broker's).
    import yaml

    from dagplane.deploy.checks._proofs import _named_secrets

    for values in sorted(config.deploy_dir.glob("*/values.yaml")):
        names.update(_named_secrets(yaml.safe_load(values.read_text())))
    for platform in [*committed, *platforms]:
        names.update(declared_names(platform))
    return names


def scan(root: Path, files: list[str], names: set[str] | None = None) -> list[str]:
    """``file:line: type`` of every finding in ``files`` (relative to ``root``)."""
    names = names if names is not None else declared_names()
    allowed = "|".join(re.escape(name) for name in sorted(names))
    args = [detect_secrets(), "scan", "--exclude-secrets", f"^({allowed})$"]
    for pattern in NOT_SECRETS:
        args += ["--exclude-secrets", pattern]
    for pattern in NOT_SECRET_LINES:
        args += ["--exclude-lines", pattern]
    done = subprocess.run([*args, *files], cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    return sorted(
        f"{name}:{found['line_number']}: {found['type']}"
        for name, findings in results.items()
        for found in findings
    )


def test_no_tracked_file_holds_a_secret() -> None:
    findings = scan(ROOT, tracked_files())
    assert findings == [], (
        "detect-secrets found possible secrets; remove real ones (and rotate them). A fake "
        "one in a test: end its line with `# pragma: allowlist secret`.\n" + "\n".join(findings)
    )


def test_a_planted_secret_is_found_beside_the_tree(tmp_path) -> None:
    """The same scan over a copy of the tree finds real-looking secrets added to it, including
    values that merely contain a declared name."""
    files = tracked_files()
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, tmp_path / name)
    aws_key = "AKIA" + "Q3ZL7RFX2M4TNB6W"  # split, so this file holds no key
    (tmp_path / "planted.env").write_text(f"AWS_ACCESS_KEY_ID={aws_key}\n")
    planted = 'password: "airflow-metadata-Xq9#vL2p"\n'  # pragma: allowlist secret
    (tmp_path / "planted.yaml").write_text(planted)
    findings = scan(tmp_path, [*files, "planted.env", "planted.yaml"])
    assert findings == [
        "planted.env:1: AWS Access Key",
        "planted.yaml:1: Secret Keyword",
    ]


def test_rendered_platform_files_pass_the_same_scan(tmp_path) -> None:
    """What ``dagplane render deploy`` will commit under ``deploy/<env>/`` scans clean too
    (beside its ``platform.yaml``, which declares the names)."""
    from dagplane.config import load_config
    from dagplane.deploy import DeployContext, Platform, load_platform
    from dagplane.deploy._network import render_network_policies
    from dagplane.deploy._platform_secrets import render_platform_secrets

    production = load_platform(ROOT / "deploy" / "production" / "platform.yaml")
    full = Platform.model_validate(
        {
            **production.model_dump(),
            "dags": {
                "distribution": "git-sync",
                "git_sync": {"repo": "git@github.com:example-org/dagplane.git", "known_hosts": "x"},
            },
        }
    )
    files = []
    for index, platform in enumerate((production, full)):
        ctx = DeployContext(platform, load_config(cwd=ROOT))
        for name, text in {**render_platform_secrets(ctx), **render_network_policies(ctx)}.items():
            (tmp_path / f"{index}-{name}").write_text(text)
            files.append(f"{index}-{name}")
    assert scan(tmp_path, files, declared_names([full])) == []
