"""Clocks (限时办结): the case clock and stage clocks of an instance, their yellow/red cards and 督办.

One module per job, from the bottom up:
- `arithmetic`: due / yellow moments and clock states on a working calendar (no database);
- `calendars`: the one working calendar of a database, cached;
- `limits`: a case's limit from the catalog or its data, the stage limits of a workflow, step
  properties (`stage`, `stage_limit`, `clock`);
- `changes`: what a case clock does (pause, resume, restart, finish), with its timing events and
  warning rows;
- `sync`: bring the clocks in line with the workflow after every engine step;
- `commands`: pause, resume, correction (补正) and extension asked for by people;
- `warnings`: the worker's yellow/red cards and escalation (督办), open lists, recomputing
  provisional deadlines;
- `views`: what pages and the API show of a clock.

This package file imports nothing, so that importing one module loads only what that one needs.
"""
