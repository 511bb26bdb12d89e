"""问责 (accountability): the ledger of sanctions decided through the `accountability` process
(docs/accountability.md).

- `ledger`: the grounds a sanction may stem from (a red card, a 一次性告知 violation, an upheld
  complaint, a failed rectification) checked against the record, the person, the decision written
  to `accountability_action`, and the ledger's queries;
- `functions`: the script functions processes/accountability.bpmn calls, registered with the
  restricted script engine by `register_script_functions()` (engine.application.wire()).

The package sits beside engine.evaluation, above the runtime (docs/architecture.md): it reads the
runtime's record through engine.models only. The evaluation reads the ledger's decisions from the
table (engine.evaluation.service.sanctions_for), so neither package imports the other.
"""
