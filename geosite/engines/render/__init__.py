"""The render engine: map images (Mapnik), legends, identify and find of map services."""
