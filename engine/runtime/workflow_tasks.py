"""The workflow side of tasks: SpiffWorkflow's task objects of a workflow, found one way.

No database and no other runtime module here: tasks, timers and clocks all look at a restored workflow through these, so
"the task with this SpiffWorkflow id" and "every task, subprocesses included" have one answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins import ManualTaskMixin as ManualTask
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin as UserTask
from SpiffWorkflow.util.task import TaskState


def is_human_task(task_spec: Any) -> bool:
    """A step people do (user or manual task): it gets a task row at a post."""
    return isinstance(task_spec, (UserTask, ManualTask))


def all_tasks(workflow: Any) -> Iterator[Any]:
    """Every task of the workflow and of its subprocesses (get_tasks(state=…) prunes subtrees)."""
    yield from workflow.tasks.values()
    for subprocess in getattr(workflow, "subprocesses", {}).values():
        yield from subprocess.tasks.values()


def ready_human_tasks(workflow: Any) -> list[Any]:
    return [t for t in all_tasks(workflow) if t.state == TaskState.READY and is_human_task(t.task_spec)]


def find_task(workflow: Any, spiff_task_id: str | None) -> Any | None:
    """The task with this SpiffWorkflow id (top level or in a subprocess), or None when the
    workflow no longer has it (send back deletes the tasks below its target) or the id is no UUID."""
    if not spiff_task_id:
        return None
    try:
        wanted = UUID(spiff_task_id)
    except ValueError:
        return None
    found = workflow.tasks.get(wanted)
    if found is not None:
        return found
    for task in all_tasks(workflow):
        if task.id == wanted:
            return task
    return None
