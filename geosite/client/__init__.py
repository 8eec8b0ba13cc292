"""The Python client library: speaks the HTTP contract only (httpx), never server modules.

It works against geosite and against ArcGIS Server alike. Errors are raised whenever an answer
is one of the two ArcGIS error envelopes, even inside an HTTP 200::

    ClientError
    └── ServerError (code, messages)
        ├── TokenRequired (499)
        └── InvalidToken (498)
"""

from __future__ import annotations

from geosite.client._errors import ClientError, InvalidToken, ServerError, TokenRequired
from geosite.client._site import Site

__all__ = ["ClientError", "InvalidToken", "ServerError", "Site", "TokenRequired"]
