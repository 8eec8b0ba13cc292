"""The query engine: ArcGIS query parameters parsed into safe, parameterised plans."""
