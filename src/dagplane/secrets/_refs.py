"""Which Secrets and keys a pod references, and which of those its DAG may not read.

Standard library only, and self-contained: the rendered ``airflow_local_settings.py`` embeds
this module's source, so the scheduler enforces the allow-list without dagplane installed.
A pod is the JSON form of a ``V1Pod`` (camelCase keys, as in a pod template file).
"""

from __future__ import annotations

__all__ = ["secret_problems", "secret_refs"]

_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def secret_refs(pod):
    """Every Secret reference in ``pod``: ``(where, secret, key)``; ``key`` is ``None`` when
    the whole Secret is exposed (a volume without ``items``, ``envFrom``)."""
    spec = (pod or {}).get("spec") or {}
    refs = []
    for volume in spec.get("volumes") or []:
        where = "volume " + str(volume.get("name"))
        secret = volume.get("secret")
        if secret:
            refs.extend(_items(where, secret.get("secretName"), secret.get("items")))
        for source in (volume.get("projected") or {}).get("sources") or []:
            projected = source.get("secret")
            if projected:
                refs.extend(_items(where, projected.get("name"), projected.get("items")))
    for list_name in _CONTAINER_LISTS:
        for container in spec.get(list_name) or []:
            where = "container " + str(container.get("name"))
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    refs.append(
                        (where + " env " + str(env.get("name")), ref.get("name"), ref.get("key"))
                    )
            for env_from in container.get("envFrom") or []:
                ref = env_from.get("secretRef")
                if ref:
                    refs.append((where + " envFrom", ref.get("name"), None))
    return refs


def _items(where, name, items):
    if not items:
        return [(where, name, None)]
    return [(where, name, item.get("key")) for item in items]


def secret_problems(dag_id, pod, allowed, platform=()):
    """One message per reference of ``pod`` outside ``allowed`` (Secret name -> keys) and
    outside ``platform`` (``[secret, key]`` pairs the worker base gives every pod)."""
    problems = []
    platform = {tuple(pair) for pair in platform}
    for where, name, key in secret_refs(pod):
        if (name, key) in platform:
            continue
        keys = allowed.get(name)
        if keys is None:
            problems.append(
                f"DAG {dag_id}: Secret {name!r} (key {key!r}, {where}) is not declared by its job"
            )
        elif key is None:
            problems.append(
                f"DAG {dag_id}: Secret {name!r} is exposed whole ({where}), not only its "
                f"declared keys {', '.join(keys)}"
            )
        elif key not in keys:
            problems.append(
                f"DAG {dag_id}: Secret {name!r} key {key!r} ({where}) is not declared by its job"
            )
    return problems
