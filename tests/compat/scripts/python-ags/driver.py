"""Our driver for python-ags (not part of the published library).

Usage: ``driver.py HOST USER PASSWORD OPERATION [ARGS...]``; it makes the calls the library's
README and API documentation show (``ServerAdmin(host, user, password)`` and its methods) and
prints what they returned as one JSON document, or ``{"error": ..., "message": ...}`` when the
library raised.
"""

from ags.admin.server import ServerAdmin
from ags.admin.services.base import ServiceDefinition


def main(host, user, password, operation, *args):
    admin = ServerAdmin(host, user, password)
    if operation == "token":
        admin.generate_token(duration=int(args[0]))
        return {"token": admin.token, "expires": admin.token_expiration}
    if operation == "list":
        folders, services = admin.list_services(*args)
        return {"folders": folders, "services": services}
    if operation == "exists":
        return {"exists": admin.service_exists(*args)}
    if operation == "status":
        status = admin.get_service_status(*args)
        return {"configured": status.configured_state, "realtime": status.realtime_state}
    if operation == "stop":
        admin.stop_service(*args)
        return {}
    if operation == "start":
        admin.start_service(*args)
        return {}
    if operation == "delete":
        admin.delete_service(*args)
        return {}
    if operation == "upload":
        item = admin.upload_item(args[0], args[1])
        return {"id": item.id, "name": item.name}
    if operation == "create":
        item_id, name, folder = args
        service = ServiceDefinition(
            service_name=name,
            type="FeatureServer",
            description="Made by python-ags",
            capabilities="Query",
            properties={"itemID": item_id},
        )
        admin.create_service(service, folder or None)
        return {}
    if operation == "get":
        return admin.get_service(*args).get_data()
    if operation == "edit-wait":
        name, kind, folder, seconds = args
        service = admin.get_service(name, kind, folder)
        service.max_wait_time = int(seconds)
        admin.edit_service(service, name, kind, folder)
        return admin.get_service(name, kind, folder).get_data()
    if operation == "iteminfo":
        name, kind, folder, summary = args
        info = admin.get_service_item_info(name, kind, folder)
        info.summary = summary
        admin.edit_service_item_info(info, name, kind, folder)
        return admin.get_service_item_info(name, kind, folder).get_data()
    if operation == "create-folder":
        admin.create_folder(*args)
        return {}
    if operation == "delete-folder":
        admin.delete_folder(*args)
        return {}
    raise SystemExit("unknown operation " + operation)


if __name__ == "__main__":
    from _answer import serve  # copied beside this driver by tests/compat/published.py

    serve(main)
