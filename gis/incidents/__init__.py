"""Incidents (事件/部件 cases of digital urban management): intake, the closed-loop workflow,
deadlines and escalation, the live change stream, metrics and map aggregates.

See docs/incidents.md. ``vocabulary`` owns the kinds, categories, sources and statuses;
``workflow`` and ``workcalendar`` are pure (no database); the other modules read and write the
database and never commit (the caller owns the transaction). Every read takes a
:class:`~gis.scope.Viewer` and masks what the viewer may not see (``presentation``).
"""
