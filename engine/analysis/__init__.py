"""Overlap and gap analysis of duty catalogs, coordinator alerts, runaround detection, diagrams.

Entry points: `report.analyze(document, threshold, progress)`, `alerts.refresh_alerts(session,
version_id, now)`, `alerts.refresh_runaround_alerts(session, now)`, `runaround.find_runarounds(...)`,
`diagrams.sanding_graph / overlap_graph / taxonomy_graph` + `diagrams.render_svg`. The object
taxonomy the overlap rules walk is the catalog's (`engine.catalog.taxonomy`): the catalog's
validator needs it too, and the catalog sits below the analysis.
"""
