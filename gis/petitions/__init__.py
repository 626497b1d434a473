"""Petitions (诉求): a resident's request, complaint or suggestion, run as a case kind on the
incident engine (gis/incidents: workflow, working-day calendar, escalation levels, case code).
docs/residents.md."""
