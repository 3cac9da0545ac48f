"""How a failure reads: what was sent, what came back, which rule it broke; one screen."""

from __future__ import annotations

import json

from conformance.model import Request, Response

BODY_LIMIT = 600
_SHOWN_REQUEST_HEADERS = ("authorization", "x-zitadel-orgid", "content-type")
_SHOWN_RESPONSE_HEADERS = ("content-type", "www-authenticate")


def redact_authorization(value: str) -> str:
    """Keep the scheme and a hint of the credential, never the credential."""
    scheme, _, credential = value.partition(" ")
    if not credential:
        return f"{value[:3]}... ({len(value)} chars)" if len(value) > 3 else value
    return f"{scheme} {credential[:3]}... ({len(credential)} chars)"


def _body(raw: bytes) -> str:
    if not raw:
        return "(empty)"
    text = raw.decode("utf-8", errors="replace")
    try:
        text = json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        pass
    text = text.replace("\n", "\\n")
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"... ({len(text)} chars)"


def describe_request(request: Request) -> list[str]:
    lines = [f"  sent: {request.method} {request.url}"]
    headers = []
    for name in _SHOWN_REQUEST_HEADERS:
        value = request.header(name)
        if value is None:
            if name == "authorization":
                headers.append("(no authorization)")
            continue
        if name == "authorization":
            value = redact_authorization(value)
        headers.append(f"{name}: {value}")
    lines.append("        " + "; ".join(headers))
    lines.append(f"        body: {_body(request.body)}")
    return lines


def describe_response(response: Response) -> list[str]:
    headers = [
        f"{name}: {response.header(name)}"
        for name in _SHOWN_RESPONSE_HEADERS
        if response.header(name) is not None
    ]
    lines = [f"  got:  HTTP {response.status}" + (f"; {'; '.join(headers)}" if headers else "")]
    lines.append(f"        body: {_body(response.body)}")
    return lines


def describe_exchange(request: Request, response: Response | None) -> str:
    lines = describe_request(request)
    if response is not None:
        lines += describe_response(response)
    return "\n".join(lines)


def _body_data(raw: bytes) -> object:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "..."


def exchange_data(request: Request, response: Response | None) -> dict[str, object]:
    """One exchange as plain data for the JSON and HTML reports, the credential redacted."""
    headers = {}
    for name in _SHOWN_REQUEST_HEADERS:
        value = request.header(name)
        if value is not None:
            headers[name] = redact_authorization(value) if name == "authorization" else value
    data: dict[str, object] = {
        "request": {
            "method": request.method,
            "url": request.url,
            "headers": headers,
            "body": _body_data(request.body),
        }
    }
    if response is not None:
        data["response"] = {
            "status": response.status,
            "headers": {
                name: response.header(name)
                for name in _SHOWN_RESPONSE_HEADERS
                if response.header(name) is not None
            },
            "body": _body_data(response.body),
        }
    return data


def outcome_of(response: Response) -> str:
    """``200``, or ``404 code 5`` for an error envelope with an integer code."""
    body = response.json(default=None)
    code = body.get("code") if isinstance(body, dict) else None
    if response.status != 200 and isinstance(code, int) and not isinstance(code, bool):
        return f"{response.status} code {code}"
    return str(response.status)
