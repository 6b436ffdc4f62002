"""The API for people: `/api/docs`, rendered from the OpenAPI document itself (so the two cannot
disagree), and `/openapi.json` for machines."""

from __future__ import annotations

import html
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route

DOCS_PATHS: dict[str, Any] = {
    "/api/docs": {"get": {
        "summary": "This API described for people (HTML)",
        "operationId": "docs",
        "tags": ["meta"],
        "responses": {"200": {"description": "HTML page",
                              "content": {"text/html": {"schema": {"type": "string"}}}}},
    }},
}


def _curl(method: str, path: str, operation: dict[str, Any], base_url: str) -> str:
    url = path
    query = []
    for param in operation.get("parameters", []):
        if param["in"] == "path":
            url = url.replace("{" + param["name"] + "}", str(param.get("example", "ID")))
        elif param["in"] == "query" and "example" in param:
            # -G --data-urlencode: JSON in a URL needs encoding, and curl globs on { and [
            query.append(f"--data-urlencode '{param['name']}={param['example']}'")
    url = base_url + url
    parts = ["curl", *(["-G", *query] if query else [])]
    if method != "get":
        parts.append(f"-X {method.upper()}")
    if "requestBody" in operation:
        example = operation["requestBody"]["content"]["application/json"]["example"]
        parts.append("-H 'content-type: application/json'")
        parts.append(f"-d '{json.dumps(example)}'")
    if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
        parts.append("-H 'If-Match: \"<rev>\"'")
    parts.append(f"'{url}'")
    return " ".join(parts)


def render_docs(spec: dict[str, Any], base_url: str) -> str:
    e = html.escape
    rows = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            params = "".join(
                f"<li><code>{e(p['name'])}</code> ({e(p['in'])}"
                f"{', required' if p.get('required') else ''}): {e(p.get('description', ''))}</li>"
                for p in op.get("parameters", [])
            )
            statuses = ", ".join(e(s) for s in op.get("responses", {}))
            rows.append(
                f'<section id="{e(op["operationId"])}"><h3><span class="m">{e(method.upper())}'
                f"</span> <code>{e(path)}</code></h3><p>{e(op['summary'])}</p>"
                + (f"<p>{e(op['description'])}</p>" if op.get("description") else "")
                + (f"<ul>{params}</ul>" if params else "")
                + f"<p>Responses: {statuses}</p>"
                f"<pre>{e(_curl(method, path, op, base_url))}</pre></section>"
            )
    schemas = "".join(
        f"<h3>{e(name)}</h3><pre>{e(json.dumps(schema, indent=2))}</pre>"
        for name, schema in spec["components"]["schemas"].items()
    )
    errors = "".join(
        f"<li><code>{e(key.removeprefix('Error'))}</code>: {e(value['description'])}</li>"
        for key, value in spec["components"]["responses"].items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(spec['info']['title'])} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
        padding: 0 1rem; }}
pre {{ background: #f4f4f4; padding: .6rem; overflow-x: auto; }}
section {{ border-top: 1px solid #ddd; }} .m {{ font-family: monospace; color: #0a5; }}
</style></head><body>
<h1>{e(spec['info']['title'])} API</h1>
<p>{e(spec['info']['description'])} Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<h2>Errors</h2><ul>{errors}</ul>
<h2>Routes</h2>
{''.join(rows)}
<h2>Schemas</h2>
{schemas}
</body></html>
"""


def routes(spec: dict[str, Any]) -> list[BaseRoute]:
    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(spec)

    async def docs(request: Request) -> HTMLResponse:
        base_url = str(request.base_url).rstrip("/")
        return HTMLResponse(render_docs(spec, base_url))

    return [
        Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False),
        Route("/api/docs", docs, methods=["GET"]),
    ]
