"""Tables of this area (SQLModel)."""
