"""Dash 4 callback requests as the browser's renderer sends them (POST /_dash-update-component).

The body names the callback by its output string (as /_dash-dependencies lists it), the outputs,
every input and state with its value, and which input changed:
{"output": "..a.data...b.children..", "outputs": [{"id", "property"}...], "inputs": [{"id", "property",
"value"}...], "changedPropIds": ["a.value"], "state": [...]}. Dict ids (pattern-matching) travel as objects.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def _id(raw: str):
    return json.loads(raw) if raw.startswith("{") else raw


def _key(cid) -> str:
    return json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else cid


def dependencies(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/_dash-dependencies", timeout=60) as response:
        return json.loads(response.read())


def callback_of(deps: list[dict], output: str) -> dict:
    """The callback whose outputs include `output` ("id.property", dict ids as sorted JSON)."""
    for dep in deps:
        parts = dep["output"].strip(".").split("...") if dep["output"].startswith("..") else [dep["output"]]
        if output in parts:
            return dep
    raise KeyError(output)


def body(dep: dict, values: dict, changed: str | None = None) -> dict:
    """A request body for `dep`; values: {"id.property": value} (missing ones are None)."""
    output = dep["output"]
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    outputs = [{"id": _id(p.rsplit(".", 1)[0]), "property": p.rsplit(".", 1)[1]} for p in parts]

    def items(specs):
        return [
            {"id": _id(s["id"]), "property": s["property"], "value": values.get(f"{s['id']}.{s['property']}")}
            for s in specs
        ]

    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": items(dep["inputs"]),
        "changedPropIds": [changed] if changed else [],
        "state": items(dep.get("state", [])),
    }


def post(base: str, payload) -> tuple[int, bytes]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(
        f"{base}/_dash-update-component", data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def key(cid, prop: str) -> str:
    return f"{_key(cid)}.{prop}"
