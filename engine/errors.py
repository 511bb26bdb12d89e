"""Domain errors. The API maps them to 4xx responses, the CLI to a non-zero exit.

Messages are for people and may be Chinese; `problems` lists every problem with its place.
"""

from __future__ import annotations


class DutyflowError(Exception):
    """Base of every error a user can cause."""

    status_code = 400

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class InvalidInput(DutyflowError):
    """Input that fails validation; nothing was changed."""

    status_code = 422


class NotFound(DutyflowError):
    status_code = 404


class Conflict(DutyflowError):
    """The object is not in a state that allows the action (e.g. task not ready, version published)."""

    status_code = 409


class Forbidden(DutyflowError):
    """The actor may not do this (wrong post, wrong role)."""

    status_code = 403


class Gone(DutyflowError):
    """The thing existed and was withdrawn (a duty cancelled in a later published version)."""

    status_code = 410
