"""双报到: in-service members and their units report to communities, claim needs, are rated."""
