"""The OpenAPI 3.1 document, made from the route tables and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from callcenter.api.routing import Route

__all__ = ["openapi_document"]

_PARAM = re.compile(r"{(\w+)}")
_ERROR = {
    "type": "object",
    "required": ["error_id", "message", "details"],
    "properties": {
        "error_id": {"type": "string", "description": "a slug a program can test"},
        "message": {"type": "string", "description": "what went wrong and what to do"},
        "details": {"type": "object"},
    },
}


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": f"{route.handler.__module__.rsplit('.', 1)[-1]}_{route.handler.__name__}",
        "tags": [route.tag] if route.tag else [],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(route.path)
        ],
        "responses": {},
    }
    if route.query is not None:
        props = route.query.model_json_schema().get("properties", {})
        required = set(route.query.model_json_schema().get("required", []))
        op["parameters"] += [
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in props.items()
        ]
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(route.body, schemas)}},
        }
    if route.response is not None:
        content = {"application/json": {"schema": _ref(route.response, schemas)}}
        op["responses"][str(route.status)] = {"description": "OK", "content": content}
    else:
        op["responses"]["204" if route.method != "GET" else "200"] = {"description": "done"}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status, text in (("401", "not signed in"), ("403", "role missing"),
                         ("422", "invalid input")):  # fmt: skip
        op["responses"].setdefault(status, {"description": text, **error})
    if route.role is None:
        op["security"] = []
    else:
        op["description"] = f"Needs the {route.role.label} role (or higher) in the tenant."
    return op


def openapi_document(routes: list[Route], version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "callcenter API",
            "version": version,
            "description": "Agents, queues, live calls, phone book, call history, recordings, "
            "statistics. Sign in with POST /api/v1/session (a cookie for the browser) or send "
            "an API token as 'Authorization: Bearer cct_...'. Errors are JSON: error_id, "
            "message, details.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "cc_session"},
            },
        },
        "security": [{"token": []}, {"session": []}],
    }
