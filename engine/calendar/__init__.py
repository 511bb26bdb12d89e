"""Working-day calendar: time limits, working days and office time, the administrator's year table.

Import from the modules (`engine.calendar.working`, `.limits`, `.units`, `.stored`, `.service`):
the package re-exports nothing, so taking a limit's type (`engine.calendar.units`) does not load
the working calendar or the tables (issue 11 item 6).
"""
