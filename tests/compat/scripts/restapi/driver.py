"""Our driver for bmi-arcgis-restapi 2.4.19's ``restapi.admin`` (not part of the published library).

Usage: ``driver.py ADMIN_SERVICES_URL USER PASSWORD OPERATION [ARGS...]``. It connects as the
package's admin sample does, ``admin.ArcServerAdmin(url, usr, pw)`` with
``host:port/arcgis/admin/services``, and makes the calls its documentation shows: the token,
the service list, ``service(wildcard)`` with its ``status``, ``stop`` and ``start``,
``stopServices``/``startServices`` with services as JSON, folders, users and roles, and the
logs. Prints one JSON document as its last line (the library itself echoes every operation's
answer before it), or ``{"error": ..., "message": ...}`` when the library raised.
"""

from restapi import admin


def main(url, user, password, operation, *args):
    server = admin.ArcServerAdmin(url, user, password)
    if operation == "token":
        return {"token": server.token.token, "url": server.url, "isAdmin": server.token.isAdmin}
    if operation == "services":
        return server.list_services()
    if operation in ("status", "stop", "start"):
        service = server.service(args[0])
        if operation != "status":
            getattr(service, operation)()
        service.refresh()
        return {"url": service.url, "status": service.status, "state": service.configuredState}
    if operation in ("stop-services", "start-services"):
        folder, name, kind = args
        services = {"services": [{"folderName": folder, "serviceName": name, "type": kind}]}
        call = server.stopServices if operation == "stop-services" else server.startServices
        return call(servicesAsJSON=services)
    if operation == "stop-folder":
        return server.stopServices(folderName=args[0])
    if operation == "create-folder":
        return server.createFolder(args[0], args[1])
    if operation == "delete-folder":
        return server.deleteFolder(args[0])
    if operation == "add-user":
        username, password_, rolename, privilege = args
        return {
            "addRole": server.addRole(rolename, "made by restapi"),
            "assignPrivilege": server.assignPrivilege(rolename, privilege),
            "addUser": server.addUser(username, password_, "Made By restapi", "", "u@example.com"),
            "addUsersToRole": server.addUsersToRole(rolename, username),
            "getRolesForUser": server.getRolesForUser(username),
            "getUsersWithinRole": server.getUsersWithinRole(rolename),
            "getPrivilegeForUser": server.getPrivilegeForUser(username),
            "searchUsers": server.searchUsers(username),
        }
    if operation == "remove-user":
        return server.removeUser(args[0])
    if operation == "remove-role":
        return server.removeRole(args[0])
    if operation == "remove-roles":
        username, rolename = args
        return server.removeRoles(username, rolename)
    if operation == "remove-users-from-role":
        rolename, username = args
        return server.removeUsersFromRole(rolename, username)
    if operation == "logs":
        level = args[0]
        found = server.queryLogs(level=level, pageSize=1000)
        return {"count": len(found), "messages": [m["message"] for m in found]}
    if operation == "log-settings":
        return server.logSettings()
    if operation == "edit-log-settings":
        # Its default logDir is C:\\arcgisserver\logs: a user keeps the site's own.
        log_dir = server.logSettings()["logDir"]
        return server.editLogSettings(logLevel=args[0], logDir=log_dir, maxLogFileAge=int(args[1]))
    if operation == "clean-logs":
        return server.cleanLogs()
    raise SystemExit("unknown operation " + operation)


if __name__ == "__main__":
    from _answer import serve  # copied beside this driver by tests/compat/published.py

    serve(main)
