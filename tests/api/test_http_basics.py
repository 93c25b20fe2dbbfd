"""The API's own surface: the OpenAPI document, health, JSON errors for what does not exist."""

from __future__ import annotations

from callcenter.api.app import ROUTE_TABLES, all_routes
from tests.api.conftest import Api, Client


async def test_openapi_lists_every_route_with_its_models(client: Client) -> None:
    status, doc = await client.request("GET", "/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.")
    for route in all_routes(ROUTE_TABLES):
        operation = doc["paths"][route.path][route.method.lower()]
        assert operation["summary"] == route.summary
        if route.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"]
    state = doc["paths"]["/api/v1/tenants/{tenant}/agents/{agent}/state"]["put"]
    assert [p["name"] for p in state["parameters"]] == ["tenant", "agent"]
    assert "StateChange" in doc["components"]["schemas"]


async def test_health_answers_without_credentials(client: Client) -> None:
    assert await client.request("GET", "/healthz") == (200, "ok")


async def test_unknown_api_path_and_method_are_json_errors(api: Api, client: Client) -> None:
    status, body = await client.request("GET", "/api/v1/nothing-here")
    assert (status, body["error_id"]) == (404, "not-found")
    status, body = await client.request("DELETE", f"/api/v1/tenants/{api.acme}/agents")
    assert (status, body["error_id"]) == (405, "method-not-allowed")
