"""dutyflow's web layer: the FastAPI app, its routes and pages, and the CLI — thin over `engine`."""
