"""Field work (巡查与走访): patrols with their tracks and findings, and household visits.

docs/field-work.md explains the choices: tracks as a table of points, distance on the geography,
scoping by grid code, and visit notes as personal data.
"""
