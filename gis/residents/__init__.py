"""Serving residents (docs/residents.md): notices with read receipts, services to apply for,
volunteers and their points (爱心储蓄), and visit plans for the special groups a grid cares for.

Residents act without an account through a signed link (:mod:`gis.residents.links`); every
writer takes a :class:`~gis.residents.access.ResidentActor`, so a resident account can stand in
for the link later without changing the writers.
"""
