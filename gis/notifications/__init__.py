"""Notifications: who is told what when a case moves (docs/notifications.md).

An aggregate package like ``gis/boundaries``: ``vocabulary`` owns the triggers and who they go
to, ``derive`` turns an incident event into notifications and deliveries inside the step's own
transaction (the one hook, called by :func:`gis.incidents.events.append_event`), ``inbox`` is
the in-app notification centre, ``channels`` the outside channels behind one interface, and
``outbox`` sends deliveries after commit (retried with backoff, every attempt recorded, one
sender at a time under an advisory lock). Nothing here commits except the sender, which owns
its own transactions.
"""
