"""Feature data sources behind services (GeoPackage, PostGIS), separate from the site store.

The publishing capability adds the sources here; the layering test already holds them to
their imports (``geosite.core.models`` and ``geosite.errors`` only).
"""
