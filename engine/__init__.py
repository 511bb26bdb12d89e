"""dutyflow engine: catalog, persistence, calendar, runtime and analysis — plain Python, no web imports."""
