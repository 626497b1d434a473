"""Dispute mediation on three levels (三级调解: grid → community → street), a case kind on the
incident engine. docs/residents.md."""
