"""Pydantic models of the API (response and request bodies), one module per resource."""
