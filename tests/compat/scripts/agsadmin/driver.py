"""Our driver for agsadmin 0.5.3's ``RestAdmin`` (not part of the published library).

Usage: ``driver.py HOST PORT USER PASSWORD OPERATION [ARGS...]``. It builds the client as the
library's README does, ``agsadmin.RestAdmin(hostname, username, password)`` with the site's
``port`` (plain HTTP, so ``encrypt=True``, the default, logs in through ``/admin/publicKey``
with every token parameter RSA-encrypted), and makes the calls its README lists: services
(list, status, stop and start, statistics, item info, properties, rename, permissions, delete),
machines, directories, uploads and the REST handler's cache. Prints one JSON document, or
``{"error": ..., "message": ...}`` when the library raised.

agsadmin's ``_encode_request_data`` tests ``isinstance(value, collections.Mapping)``, an alias
Python 3.10 removed (it was deprecated since 3.3); like the interpreters agsadmin was released
for, this driver gives it back before importing the library. Nothing else is changed.
"""

import collections
import collections.abc
import json

if not hasattr(collections, "Mapping"):
    collections.Mapping = collections.abc.Mapping

import agsadmin
import agsadmin._auth
from agsadmin.rest_admin.system.Directory import Directory


def _service(admin, name, kind, folder):
    return admin.services.get_service(name, kind, folder or None)


def _recorded(sent):
    """``requests.request`` as agsadmin's login calls it, noting what went over the wire."""
    import requests

    through = requests.request

    def request(method, url, **kwargs):
        answer = through(method, url, **kwargs)
        data = {
            key: value.decode() if isinstance(value, bytes) else value
            for key, value in (kwargs.get("data") or {}).items()
        }
        sent.append({"method": method, "url": url, "data": data, "answer": answer.json()})
        return answer

    return request


def main(host, port, user, password, operation, *args):
    if operation == "login":
        sent = []
        agsadmin._auth.requests.request = _recorded(sent)
        admin = agsadmin.RestAdmin(host, user, password, port=int(port))
        auth = admin._session.auth  # signs every request of the session with its token
        token = auth._get_token()
        folders = [folder.name for folder in admin.services.list_folders()]  # signed with it
        return {
            "token": token,
            "publicKeyUrl": auth._get_public_key_url,
            "tokenUrl": auth._get_token_url,
            "sent": sent,
            "folders": folders,
        }
    admin = agsadmin.RestAdmin(host, user, password, port=int(port))
    if operation == "list":
        return {
            "folders": [folder.name for folder in admin.services.list_folders()],
            "services": [
                [s.name, s._type, s.folder and s.folder.name]
                for s in admin.services.list_services()
            ],
        }
    if operation == "list-folder":
        folder = admin.services.get_folder(args[0])
        return [[s.name, s._type, s.folder and s.folder.name] for s in folder.list_services()]
    if operation in ("stop-listed", "start-listed"):
        # The service objects list_services() makes: a root service's folder is "/" there.
        for service in admin.services.list_services():
            if service.name == args[0]:
                call = service.stop_service if operation == "stop-listed" else service.start_service
                return {"folder": service.folder.name, "url": service._url_full, "answer": call()}
        return {"error": "not listed"}
    if operation in ("stop", "start", "status", "statistics", "iteminfo", "properties", "delete"):
        service = _service(admin, *args)
        call = {
            "stop": service.stop_service,
            "start": service.start_service,
            "status": service.get_status,
            "statistics": service.get_statistics,
            "iteminfo": service.get_iteminfo,
            "properties": service.get_properties,
            "delete": service.delete,
        }[operation]
        return call()
    if operation == "set-iteminfo":
        name, kind, folder, changes = args
        service = _service(admin, name, kind, folder)
        info = service.get_iteminfo()
        info.update(json.loads(changes))
        return service.set_iteminfo(info)
    if operation == "set-properties":
        name, kind, folder, changes = args
        service = _service(admin, name, kind, folder)
        properties = service.get_properties()
        properties.update(json.loads(changes))
        return service.set_properties(properties)
    if operation == "rename":
        name, kind, folder, new_name = args
        service = _service(admin, name, kind, folder)
        answer = service.rename(new_name)
        return {"answer": answer, "name": service.name, "status": service.get_status()}
    if operation in ("permit", "forbid", "principals"):
        name, kind, folder = args[:3]
        service = _service(admin, name, kind, folder)
        if operation == "permit":
            service.add_permission(args[3])
        if operation == "forbid":
            service.remove_permission(args[3])
        return service.get_allowed_principals()
    if operation == "folder-principals":
        folder = admin.services.get_folder(args[0])
        if len(args) > 1:
            folder.add_permission(args[1])
        return folder.get_allowed_principals()
    if operation == "machines":
        return [machine.name for machine in admin.machines.list()]
    if operation == "machine":
        machine = admin.machines.get(args[0])
        return {"name": machine.name, "adminURL": machine._pdata["admin_url"]}
    if operation in ("machine-stop", "machine-start"):
        machine = admin.machines.get(args[0])
        machine.stop() if operation == "machine-stop" else machine.start()
        return {"name": machine.name}
    if operation == "directories":
        listed = admin.system.directories.list()
        return {d.name: {"type": d.directory_type.value, "path": d.physical_path} for d in listed}
    if operation == "register-directory":
        name, path, kind, description = args
        admin.system.directories.register(name, path, kind, description)
        directory = admin.system.directories.get(name)
        return dict(directory._pdata)
    if operation == "update-directory":
        name, description, age = args
        directory = admin.system.directories.get(name)
        directory.description = description
        directory.cleanup_mode = Directory.CleanupMode.TIME_ELAPSED_SINCE_LAST_MODIFIED
        directory.max_file_age = int(age)
        directory.update()
        return dict(admin.system.directories.get(name)._pdata)
    if operation in ("clean-directory", "unregister-directory"):
        directory = admin.system.directories.get(args[0])
        directory.clean() if operation == "clean-directory" else directory.unregister()
        return {"names": [d.name for d in admin.system.directories.list()]}
    if operation == "upload":
        path, description = args
        return admin.uploads.upload(path, description)
    if operation == "get-upload":
        item = admin.uploads.get(args[0])
        return {"name": item.name, "description": item.description}
    if operation == "list-uploads":
        return [item.id for item in admin.uploads.list()]
    if operation == "clear-cache":
        name, kind, folder = args
        return admin.system.handlers.rest.cache.clear(folder or None, name, kind)
    raise SystemExit("unknown operation " + operation)


if __name__ == "__main__":
    from _answer import serve  # copied beside this driver by tests/compat/published.py

    serve(main)
