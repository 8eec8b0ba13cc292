"""The Python client library: speaks the HTTP contract only (httpx), never server modules.

The scripting capability adds the client here; the layering test already forbids it from
importing any other part of geosite.
"""
