"""The bounds of the values the database stores, for the code that checks a value before it
reaches the database: the catalog document's fields, limit texts, ids typed by people.

Apart from engine.db, which imports SQLAlchemy and SQLModel: the catalog document and the
calendar's limits need the bound, not the database, and reading a catalog file should not load
SQLAlchemy (about a sixth of `dutyflow analyze`'s instructions at 20,000 duties, issue 11 item 6).
"""

# The largest value an INTEGER column holds on both backends (PostgreSQL's is 32-bit): an id or a
# number a client sends past it names nothing, and handing it to the driver would overflow (SQLite
# refuses Python ints past 64 bits with OverflowError) — callers answer 404/422 instead.
INT_COLUMN_MAX = 2**31 - 1
