"""Our driver for arcrest 10.3's ``arcrest.admin`` library (not part of the release).

Usage (through ``launch.py``): ``driver.py ADMIN_URL USER PASSWORD OPERATION [ARGS...]``.
It makes the calls ``arcrest/admin/admin_objects.py`` documents and ``cmdline.py`` makes:
``Admin(admin_url, username, password, generate_token=True)``, then its ``services`` (folders,
services, ``[name]``, ``status``, ``statistics``, ``start``, ``stop``, ``delete``, ``types``),
``machines`` and ``clusters``, and prints what they returned as one JSON document
(``{"error": ..., "message": ...}`` when the library raised).
"""

import arcrest.admin as admin


def main(url, user, password, operation, *args):
    site = admin.Admin(url, user, password, generate_token=True)
    if operation == "info":
        return {"resources": site.resources, "currentVersion": site.currentVersion}
    if operation == "folders":
        services = site.services
        return {
            "root": services.folderName,
            "rootServices": sorted(s.name for s in services.services),
            "folders": {f.folderName: f.serviceNames for f in services.folders},
        }
    if operation == "every-service":
        return sorted(s.name for s in site.services)
    if operation == "types":
        return sorted(t["name"] for t in site.services.types)
    if operation in ("status", "statistics", "start", "stop", "delete"):
        service = site.services[args[0]]
        answer = getattr(service, operation)
        return {
            "name": service.name,
            "answer": answer if operation in ("status", "statistics") else answer(),
        }
    if operation == "machines":
        machines = site.machines
        return [
            {"name": m.name, "adminURL": m.admin_url, "platform": m.platform}
            for m in (machines[name] for name in sorted(machines.keys()))
        ]
    if operation == "clusters":
        return site.clusters.clusterNames
    raise SystemExit("unknown operation " + operation)


if __name__ == "__main__":
    from _answer import serve  # copied beside this driver by tests/compat/published.py

    serve(main)
