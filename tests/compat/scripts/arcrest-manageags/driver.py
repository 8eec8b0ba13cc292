"""Our driver for ArcREST 3.5.9's ``arcrest.manageags`` (not part of the published library).

Usage: ``driver.py SITE USER PASSWORD OPERATION [ARGS...]`` where SITE is
``http://host:port/arcgis``. It makes the calls ArcREST's samples (``samples/AGS/*.py``) and
docstrings show, ``AGSTokenSecurityHandler(username, password, org_url=SITE)`` then
``AGSAdministration(url=SITE + "/admin", securityHandler=sh)`` and its ``services``,
``security``, ``logs`` and ``system`` resources, and prints what they returned as one JSON
document (``{"error": ..., "message": ...}`` when the library raised).

``arcrest/__init__.py`` imports every sub-package, and ``arcrest.agol`` names a parameter
``async``: a syntax error since Python 3.7. So the package is loaded here without its
``__init__``, and only its ArcGIS Server administration part is imported (SOURCE.md).
"""

import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
package = types.ModuleType("arcrest")
package.__path__ = [os.path.join(HERE, "arcrest")]
sys.modules["arcrest"] = package

from arcrest.manageags import AGSAdministration  # noqa: E402
from arcrest.security import AGSTokenSecurityHandler  # noqa: E402


def _service(admin, folder, name, kind):
    services = admin.services
    services.folderName = folder
    for service in services.services:
        if service.serviceName == name and service.type == kind:
            return service
    raise LookupError(f"no service {folder}/{name}.{kind}")


def main(site, user, password, operation, *args):
    handler = AGSTokenSecurityHandler(username=user, password=password, org_url=site)
    admin = AGSAdministration(url=site + "/admin", securityHandler=handler)
    if operation == "info":
        return {
            "token_url": handler.token_url,
            "currentVersion": admin.currentVersion,
            "resources": admin.resources,
        }
    if operation == "list":
        services = admin.services
        listing = {}
        for folder in services.folders:
            services.folderName = folder
            listing[folder] = sorted(f"{s.serviceName}.{s.type}" for s in services.services)
        return listing
    if operation == "stop":
        return _service(admin, *args).stop_service()
    if operation == "start":
        return _service(admin, *args).start_service()
    if operation == "status":
        return _service(admin, *args).status
    if operation == "stop-services":
        folder, name, kind = args
        return admin.services.stopServices(
            [{"folderName": folder, "serviceName": name, "type": kind}]
        )
    if operation == "start-services":
        folder, name, kind = args
        return admin.services.startServices(
            [{"folderName": folder, "serviceName": name, "type": kind}]
        )
    if operation == "edit-instances":
        folder, name, kind, low, high = args
        service = _service(admin, folder, name, kind)
        definition = json.loads(str(service))
        definition["minInstancesPerNode"] = int(low)
        definition["maxInstancesPerNode"] = int(high)
        return service.edit(definition)
    if operation == "create-folder":
        return admin.services.createFolder(args[0], args[1])
    if operation == "delete-folder":
        return admin.services.deleteFolder(args[0])
    if operation == "rename":
        folder, name, kind, new_name = args
        return admin.services.rename_service(name, kind, new_name, folder=folder or None)
    if operation == "deny-everyone":
        service = _service(admin, *args)
        return {
            "add": service.addPermission("esriEveryone", isAllowed=False),
            "permissions": service.permissions,
        }
    if operation == "add-user":
        username, user_password, rolename, privilege = args
        security = admin.security
        return {
            "addRole": security.addRole(rolename, "made by ArcREST"),
            "assignPrivilege": security.assignPrivilege(rolename, privilege),
            "addUser": security.addUser(
                username, user_password, fullname="Made By ArcREST", email="arcrest@example.com"
            ),
            "addUsersToRole": security.addUsersToRole(rolename, username),
            "getRolesForUser": security.getRolesForUser(username),
            "getPrivilegeForUser": security.getPrivilegeForUser(username),
            "getUsersWithinRole": security.getUsersWithinRole(rolename),
        }
    if operation == "remove-user":
        username, rolename = args
        security = admin.security
        return {
            "removeRoles": security.removeRoles(username, rolename),
            "removeUser": security.removeUser(username),
            "removeRole": security.removeRole(rolename),
        }
    if operation == "users":
        return admin.security.getUsers(pageSize=100)
    if operation == "logs-query":
        return admin.logs.query(level=args[0])
    if operation == "logs-settings":
        return admin.logs.logSettings
    if operation == "logs-clean":
        return admin.logs.clean()
    if operation == "licenses":
        return admin.system.licenses
    if operation == "export-site":
        return admin.exportSite(location=args[0])
    raise SystemExit("unknown operation " + operation)


if __name__ == "__main__":
    from _answer import serve  # copied beside this driver by tests/compat/published.py

    serve(main)
