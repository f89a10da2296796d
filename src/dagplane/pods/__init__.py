"""Worker pods: each DAG's pod template (image, secrets, resources, hardening). Pure."""

from dagplane.pods._base import chart_worker_base, hardened_pod, load_worker_base
from dagplane.pods._image import image_for
from dagplane.pods._template import (
    POD_TEMPLATES_DIR,
    SECRETS_DIR,
    base_pod,
    pod_outputs,
    pod_template_filename,
    render_base_pod_template,
    render_pod_template,
    secret_volume_name,
    worker_pod,
)

__all__ = [
    "POD_TEMPLATES_DIR",
    "SECRETS_DIR",
    "base_pod",
    "chart_worker_base",
    "hardened_pod",
    "image_for",
    "load_worker_base",
    "pod_outputs",
    "pod_template_filename",
    "render_base_pod_template",
    "render_pod_template",
    "secret_volume_name",
    "worker_pod",
]
