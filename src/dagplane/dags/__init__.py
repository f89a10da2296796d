"""DAGs: render job specs into Airflow 3 DAG files and sync them into a folder."""

from dagplane.dags.render import dag_filename, render_dag
from dagplane.dags.sync import SyncReport, sync_dags

__all__ = ["SyncReport", "dag_filename", "render_dag", "sync_dags"]
