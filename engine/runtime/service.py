"""The runtime's commands and queries as api/ and the CLI call them, in one namespace.

The work is done in the service modules cut along the engine's jobs (as Camunda's repository,
runtime and task services): `deployment` (BPMN files → definition versions), `instance_service`
(start, read, list, suspend and reactivate cases) and `task_service` (inbox, task reads and every
operation people do to a task). This module only names them for callers.
"""

from __future__ import annotations

from engine.auth.roles import ADMIN, Actor
from engine.runtime import events as ev
from engine.runtime.deployment import (
    Deployed,
    definition_tasks,
    deploy_definition,
    deploy_directory,
    get_definition,
    list_definitions,
)
from engine.runtime.instance_service import (
    MAX_DATA_BYTES,
    activate_instance,
    get_instance,
    instance_data,
    instance_tasks,
    list_instances,
    start_instance,
    suspend_instance,
    timeline,
    version_and_tasks,
)
from engine.runtime.task_service import (
    ACTING_KINDS,
    InboxEntry,
    accept_transfer,
    bpmn_id,
    claim_task,
    comment,
    complete_task,
    copy_to,
    delegate_to_backup,
    get_task,
    inbox,
    process_form_fields,
    refuse_transfer,
    send_back,
    task_deadline,
    task_form,
    task_item,
    task_items,
    task_posts,
    task_posts_and_form,
    transfer_task,
    urge,
    withdraw,
)

# The actor of what the server does by itself (deploying the shipped processes at start-up).
SYSTEM_ACTOR = Actor(username="system", roles=frozenset({ADMIN}), display_name="系统")

__all__ = [
    "ACTING_KINDS", "MAX_DATA_BYTES", "SYSTEM_ACTOR", "Deployed", "InboxEntry", "accept_transfer", "bpmn_id",
    "claim_task", "comment", "complete_task", "copy_to", "definition_tasks", "delegate_to_backup",
    "deploy_definition", "deploy_directory", "ev", "get_definition", "get_instance", "get_task", "inbox",
    "instance_data", "instance_tasks", "list_definitions", "list_instances", "refuse_transfer", "activate_instance",
    "send_back", "start_instance", "suspend_instance", "task_deadline", "process_form_fields", "task_form", "task_item", "task_items",
    "task_posts", "task_posts_and_form", "timeline", "transfer_task", "urge", "version_and_tasks", "withdraw",
]
