import httpx

from tests.conftest import LiveSite


def test_classic_script_flow(site: LiveSite) -> None:
    """Form POST to generateToken, then list machines with the token (Esri's sample scripts)."""
    answer = httpx.post(
        site.admin + "/generateToken",
        data={
            "username": "siteadmin",
            "password": "s3cret-Password!",
            "client": "requestip",
            "f": "json",
        },
        headers={"Accept": "text/plain"},
    )
    assert answer.status_code == 200
    token = answer.json()["token"]
    machines = httpx.post(site.admin + "/machines", data={"token": token, "f": "json"}).json()
    assert machines == {
        "machines": [
            {
                "machineName": "TESTMACHINE.EXAMPLE",
                "adminURL": "http://testmachine.example:6080/arcgis/admin",
            }
        ]
    }
