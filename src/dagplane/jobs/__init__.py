"""Jobs: the declaration users write, discovery that reads it, and the runtime that runs it."""

from dagplane.jobs.context import JobContext
from dagplane.jobs.spec import Job, JobOptions, JobSpec, Resources, Secret

__all__ = ["Job", "JobContext", "JobOptions", "JobSpec", "Resources", "Secret"]
