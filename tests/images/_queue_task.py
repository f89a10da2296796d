"""Do what the scheduler does before a worker pod starts, or read a task's state afterwards.

Run as a script in an ``AIRFLOW_HOME`` whose metadata already holds the DAGs:

- ``queue DAG_ID TASK_ID MAP_INDEX``: create a manual run, expand and schedule its tasks
  (``task_instance_scheduling_decisions`` + ``schedule_tis``, as the scheduler loop does), queue
  one task instance and print its ``ExecuteTask`` workload (signed with the executor's own JWT
  generator) as the last line: the JSON the KubernetesExecutor passes to the worker pod;
- ``state DAG_ID TASK_ID MAP_INDEX``: print that task instance's state and try number.
"""

from __future__ import annotations

import datetime
import sys

from airflow.executors.base_executor import BaseExecutor
from airflow.executors.workloads import ExecuteTask
from airflow.models.dagbag import DBDagBag
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState, TaskInstanceState
from airflow.utils.types import DagRunTriggeredByType, DagRunType

RUN_ID = "container_test"


def queue(dag_id: str, task_id: str, map_index: int) -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        run = dag.create_dagrun(
            run_id=RUN_ID,
            logical_date=now,
            data_interval=(now, now),
            run_after=now,
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.TEST,
            state=DagRunState.RUNNING,
            session=session,
        )
        session.flush()
        run.dag = dag
        decision = run.task_instance_scheduling_decisions(session=session)
        run.schedule_tis(decision.schedulable_tis, session=session)  # try_number += 1, in SQL
        session.flush()
        session.expire_all()  # read the task instance back as the scheduler's next query does
        ti = _ti(session, dag_id, task_id, map_index)
        ti.state = TaskInstanceState.QUEUED
        ti.queued_dttm = now
        session.flush()
        return ExecuteTask.make(ti, generator=BaseExecutor().jwt_generator).model_dump_json()


def state(dag_id: str, task_id: str, map_index: int) -> str:
    with create_session() as session:
        ti = _ti(session, dag_id, task_id, map_index)
        return f"{ti.state} {ti.try_number}"


def _ti(session, dag_id: str, task_id: str, map_index: int) -> TaskInstance:
    return (
        session.query(TaskInstance)
        .filter_by(dag_id=dag_id, run_id=RUN_ID, task_id=task_id, map_index=map_index)
        .one()
    )


if __name__ == "__main__":
    command, dag_id, task_id, map_index = sys.argv[1:5]
    print({"queue": queue, "state": state}[command](dag_id, task_id, int(map_index)))
