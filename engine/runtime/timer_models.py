"""Tables of the runtime timers, deadlines and warnings (SQLModel)."""
