"""Deterministic demo-city generator and fast COPY loader (华亭市 urban core).

Public entry points live in :mod:`data.demo`.
"""
