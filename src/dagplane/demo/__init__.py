"""``dagplane demo``: the main job end to end on embedded defaults."""

from dagplane.demo.examples import run_examples_demo
from dagplane.demo.salesforce import run_salesforce_demo

__all__ = ["run_examples_demo", "run_salesforce_demo"]
