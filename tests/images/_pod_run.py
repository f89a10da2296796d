"""Run a generated pod template's ``base`` container with a container engine, as a kubelet would.

Every field of the template that changes how the container runs is translated, and any field
this translation does not know fails the test instead of being dropped: the run proves the
template, not a hand-written approximation of it. Volumes that a cluster provides (ConfigMaps,
PersistentVolumeClaims, Secrets) come from host paths named by volume.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

_KNOWN_CONTAINER = {"name", "image", "imagePullPolicy", "env", "securityContext", "volumeMounts",
                    "resources"}  # fmt: skip
_KNOWN_SPEC = {"automountServiceAccountToken", "enableServiceLinks", "restartPolicy",
               "securityContext", "containers", "volumes", "imagePullSecrets"}  # fmt: skip


def load_template(path: Path) -> dict[str, Any]:
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("#"))
    return json.loads(text)


def run_args(pod: dict[str, Any], sources: dict[str, Path], scratch: Path) -> list[str]:
    """``podman run`` arguments (without the image and command) for ``pod``'s base container.

    ``sources``: a host path per cluster-provided volume (a file for a ConfigMap item mounted
    with ``subPath``, else a folder; a projected Secret volume gets a folder of key files).
    An ``emptyDir`` is what the kubelet makes of it: a fresh host folder, mode 0777, under
    ``scratch`` (podman's ``--tmpfs`` ignores its mode option on these machines).
    """
    spec = pod["spec"]
    assert set(spec) <= _KNOWN_SPEC, set(spec) - _KNOWN_SPEC
    [container] = spec["containers"]
    assert set(container) <= _KNOWN_CONTAINER, set(container) - _KNOWN_CONTAINER
    security = {**spec.get("securityContext", {}), **container["securityContext"]}
    args = ["--user", f"{security['runAsUser']}:{spec['securityContext']['runAsGroup']}"]
    if security.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    if security.get("capabilities", {}).get("drop") == ["ALL"]:
        args += ["--cap-drop", "ALL"]
    if security.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    assert security.get("privileged") is False
    for item in container.get("env", []):
        assert set(item) == {"name", "value"}, f"env {item['name']}: only literal values here"
        args.append(f"--env={item['name']}={item['value']}")
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        target = mount["mountPath"]
        mode = "ro" if mount.get("readOnly") else "rw"
        if "emptyDir" in volume:
            folder = scratch / mount["name"]
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o777)
            args.append(f"--volume={folder}:{target}:{mode}")
            continue
        kind = next(k for k in ("configMap", "persistentVolumeClaim", "projected") if k in volume)
        source = sources[mount["name"]]
        if kind == "configMap":
            assert mount.get("subPath") == PurePosixPath(target).name and source.is_file()
        args.append(f"--volume={source}:{target}:{mode}")
    return args
