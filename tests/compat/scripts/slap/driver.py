"""Our driver for slap 3.3.1's Administrator API client (not part of the published library).

Usage: ``driver.py ADMIN_URL USER PASSWORD OPERATION [ARGS...]``. It builds the client as
``slap.publisher.Publisher`` does, ``Api(ags_url=agsUrl, auth=TokenAuth(username, password,
token_url=agsUrl + '/generateToken'))``, and runs the publisher's own sequences around it
(``delete_service``: ``service_exists`` then ``delete_service``; ``update_service``:
``get_service_params``, merge, ``edit_service``; ``publish --site``: ``create_site``). The
publisher itself is not imported: it needs arcpy. Prints one JSON document, or
``{"error": ..., "message": ...}`` when the library raised.
"""

import json

from slap.api import Api
from slap.auth.token import TokenAuth


def main(ags_url, user, password, operation, *args):
    auth = TokenAuth(username=user, password=password, token_url=ags_url + "/generateToken")
    api = Api(ags_url=ags_url, auth=auth)
    if operation == "exists":
        name, folder, kind = args
        return api.service_exists(service_name=name, folder=folder or None, service_type=kind)
    if operation == "delete":
        name, folder, kind = args
        exists = api.service_exists(service_name=name, folder=folder or None, service_type=kind)
        if exists["exists"]:
            return api.delete_service(service_name=name, folder=folder or None, service_type=kind)
        return exists
    if operation == "update":
        name, folder, kind, changes = args
        default_json = api.get_service_params(
            service_name=name, folder=folder or None, service_type=kind
        )
        default_json.update(json.loads(changes))  # Publisher merges its config the same way
        return api.edit_service(
            service_name=name, folder=folder or None, params=default_json, service_type=kind
        )
    if operation == "params":
        name, folder, kind = args
        return api.get_service_params(service_name=name, folder=folder or None, service_type=kind)
    if operation == "create-site":
        return api.create_site(user, password, json.loads(args[0]))
    if operation == "default-site-params":
        return Api.get_default_site_params()
    raise SystemExit("unknown operation " + operation)


if __name__ == "__main__":
    from _answer import serve  # copied beside this driver by tests/compat/published.py

    serve(main)
