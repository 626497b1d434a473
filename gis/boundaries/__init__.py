"""Boundary editing: drafts of grid redraws, validation, impact, atomic commit, history.

See docs/boundaries.md. Pure geometry lives in ``geometry``, ``validation`` and ``operations``;
``drafts``, ``commit`` and ``history`` read and write the database.
"""
