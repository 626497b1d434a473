"""Organisational life (组织生活): 三会一课 and 主题党日 of party branches (docs/party-building.md).

- :mod:`gis.orglife.rules` — the vocabulary (meeting kinds, attendance) and the frequency rules;
- :mod:`gis.orglife.models` — the tables of migration ``0026_org_life``;
- :mod:`gis.orglife.meetings` — who may record and read, the writer and the readers;
- :mod:`gis.orglife.completeness` — the quarterly completeness per branch and per area.
"""
