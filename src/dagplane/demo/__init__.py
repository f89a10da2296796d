"""``dagplane demo``: discover, sync and run a DAG through real Airflow 3 on local defaults."""

from dagplane.demo.examples import run_demo

__all__ = ["run_demo"]
