"""Pipelines: glue that runs a connector into a destination, one object at a time."""
