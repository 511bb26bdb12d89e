"""Every table of dutyflow, one module per aggregate (catalog, calendar, runtime, timers,
analysis, auth, evaluation, audit, accountability, rollups).

The tables live below every service package rather than inside each one because the layers read
across aggregates: the permission policy (engine.auth) reads tasks and case clocks, the analysis
reads the runtime's timing log, the runtime reads the catalog. With the tables at the bottom,
each package imports only downwards (docs/architecture.md). Importing this package registers all
tables in SQLModel.metadata.

A generated primary key is typed `id: int = Field(default=None, primary_key=True)`: None only
between building a row and the flush that inserts it, and every row the services hand around has
been flushed or loaded. Typed `int | None`, each of the hundreds of uses of an id would need a
check that can never fail.
"""

from engine.models import (  # noqa: F401
    accountability,
    analysis,
    audit,
    auth,
    calendar,
    catalog,
    evaluation,
    rollups,
    runtime,
    timers,
)
