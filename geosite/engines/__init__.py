"""Service engines (query, render): pure functions over data sources, no HTTP.

The publishing and map capabilities add the engines here; the layering test already holds
them to their imports.
"""
