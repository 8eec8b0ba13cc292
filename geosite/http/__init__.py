"""The HTTP layer: the only package that knows about requests and responses."""
