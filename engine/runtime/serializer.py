"""Workflow (de)serialization: the spec stored once per definition version, instances hold state only.

SpiffWorkflow embeds the whole process spec in every serialized workflow by default (about two
thirds of a small row). Here a converter writes a `spec_key` (the definition's content hash)
instead and restores the spec from an in-memory cache filled from the definition row, which makes
rows smaller and save/load faster. Content hashes rather than row ids key the cache, so two
databases in one process (tests run SQLite and PostgreSQL) can never mix specs up.

The restricted script engine is attached to every workflow created or restored here, because
SpiffWorkflow does not serialize it and would silently fall back to its unrestricted default.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.runtime.scripting import make_script_engine

# SpiffWorkflow's workflow logger adds the id of every task of the workflow to a record's extras
# whenever its own level is below INFO — and a logger left unset counts as 0 — before it knows
# whether anyone listens (SpiffWorkflow/workflow.py, collect_log_extras): a walk of the whole task
# tree at each workflow's creation and reset. Set to INFO, its INFO records pass as before; its
# DEBUG records no longer do, even with the root at DEBUG (they were that walk's only reader).
logging.getLogger("spiff.workflow").setLevel(logging.INFO)

# The spec key (definition content hash) of each live workflow, written back when it is saved;
# an entry lives as long as its workflow object (nothing is stored on SpiffWorkflow's objects).
SPEC_KEYS: WeakKeyDictionary[BpmnWorkflow, str] = WeakKeyDictionary()


class SpecCache:
    """Parsed specs by content hash; specs are immutable once deployed, so sharing them is safe.
    Entries are kept for the life of the process (one per deployed definition version)."""

    def __init__(self) -> None:
        self._specs: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[Any, dict[str, Any]] | None:
        with self._lock:
            return self._specs.get(key)

    def put(self, key: str, spec: Any, subprocess_specs: dict[str, Any]) -> None:
        with self._lock:
            self._specs[key] = (spec, subprocess_specs)

    def ensure(self, key: str, spec_json: Callable[[], str]) -> tuple[Any, dict[str, Any]]:
        """The cached spec for `key`, restoring it from `spec_json()` on a miss."""
        found = self.get(key)
        if found is None:
            spec, subprocess_specs = deserialize_spec(spec_json())
            self.put(key, spec, subprocess_specs)
            found = (spec, subprocess_specs)
        return found


SPEC_CACHE = SpecCache()


class KeyedWorkflowConverter(BpmnWorkflowConverter):
    """Writes the spec key instead of the spec; restores the spec from SPEC_CACHE."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec_key"] = SPEC_KEYS[workflow]
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        key = dct.pop("spec_key")
        cached = SPEC_CACHE.get(key)
        if cached is None:
            raise LookupError(f"process spec {key} is not loaded")
        spec, subprocess_specs = cached
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        SPEC_KEYS[workflow] = key
        return workflow


def _uuid(value: str) -> UUID:
    return UUID(value)


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = KeyedWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


# The registry converts, it keeps no per-call state, but the encoder flag it toggles is shared:
# one serializer per thread keeps the embedded worker and request threads apart.
_local = threading.local()


def _serializer() -> BpmnWorkflowSerializer:
    ser = getattr(_local, "serializer", None)
    if ser is None:
        ser = _local.serializer = _make_serializer()
    return ser


def serialize_spec(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    ser = _serializer()
    # Same encoder mode and encoder class as BpmnWorkflowSerializer.serialize_json uses.
    ser.registry._encoder_mode = True
    try:
        dct = {
            "spec": ser.to_dict(spec),
            "subprocess_specs": {name: ser.to_dict(sub) for name, sub in subprocess_specs.items()},
        }
        return json.dumps(dct, cls=ser._encoder_cls, ensure_ascii=False)
    finally:
        ser.registry._encoder_mode = False


def deserialize_spec(text: str) -> tuple[Any, dict[str, Any]]:
    ser = _serializer()
    dct = json.loads(text)
    spec = ser.from_dict(dct["spec"])
    subprocess_specs = {name: ser.from_dict(sub) for name, sub in dct["subprocess_specs"].items()}
    return spec, subprocess_specs


def new_workflow(spec_key: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    """A fresh workflow of a cached spec, with the restricted script engine attached."""
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine())
    SPEC_KEYS[workflow] = spec_key
    return workflow


def serialize_workflow(workflow: BpmnWorkflow) -> str:
    """What BpmnWorkflowSerializer.serialize_json writes, with compact separators, UTF-8 text
    instead of \\u escapes and no circular-reference check (to_dict builds a tree): the same
    JSON value, written about 40 % faster (this runs on every engine step)."""
    ser = _serializer()
    ser.registry._encoder_mode = True
    try:
        dct = ser.to_dict(workflow)
        dct[ser.VERSION_KEY] = ser.VERSION
        return json.dumps(dct, cls=ser._encoder_cls, separators=(",", ":"), ensure_ascii=False, check_circular=False)
    finally:
        ser.registry._encoder_mode = False


def deserialize_workflow(state: str) -> BpmnWorkflow:
    """Restore a workflow whose spec is in SPEC_CACHE and re-attach the restricted engine."""
    workflow = _serializer().deserialize_json(state)
    workflow.script_engine = make_script_engine()
    return workflow
