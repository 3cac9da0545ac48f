"""connexion's Swagger UI, serving the spec as written and naming the mock's tokens.

connexion serves the spec with every ``$ref`` inlined; the management spec's list queries nest
into themselves, so that inlined form is a cycle that ``json.dumps`` refuses (every
``openapi.json`` was a 500). The spec is served with its references instead, which Swagger UI
resolves itself. Two things are added for the UI alone: the tokens of the running world in the
security scheme, so the Authorize dialog says what to paste, and ``{}`` as the example of the
empty request bodies.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from starlette.types import ASGIApp

from mock_server.domain.world import World

# (token, who it is) of the world the UI talks to, read on every spec request.
TokenLister = Callable[[], list[tuple[str, str]]]
SECURITY_SCHEME = "bearerAuth"


def with_empty_body_examples(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with ``example: {}`` on each request body that is any JSON object.

    Without it Swagger UI's Try-it-out proposes ``{"additionalProp1": {}}``. Only the UI gets
    it: in the spec file schemathesis would send that one example again and again, and the
    second deactivation of an org is rejected.
    """
    served = copy.deepcopy(spec)
    components = served.get("components", {})
    for body in components.get("requestBodies", {}).values():
        for media in body.get("content", {}).values():
            schema = media.get("schema", {})
            ref = schema.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                schema = components.get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
            if schema.get("additionalProperties") and not schema.get("properties"):
                media.setdefault("example", {})
    return served


def with_tokens(spec: dict[str, Any], tokens: list[tuple[str, str]]) -> dict[str, Any]:
    """``spec`` with ``tokens`` listed in its bearer scheme's description (Markdown)."""
    scheme = spec.get("components", {}).get("securitySchemes", {}).get(SECURITY_SCHEME)
    if scheme is None or not tokens:
        return spec
    served = copy.deepcopy(spec)
    listed = "\n".join(f"- `{value}`: {who}" for value, who in tokens)
    served["components"]["securitySchemes"][SECURITY_SCHEME]["description"] = (
        f"{scheme.get('description', '').rstrip()}\n\n"
        f"The mock's world has these tokens; paste one as the value:\n\n{listed}\n"
    )
    return served


def world_tokens(world: World) -> TokenLister:
    """The tokens of ``world`` as it is when asked, each with its user and roles."""

    def tokens() -> list[tuple[str, str]]:
        with world.lock:
            roles: dict[str, list[str]] = {}
            for m in world.memberships:
                where = "instance" if m.scope == "instance" else f"{m.scope} {m.scope_id}"
                roles.setdefault(m.user_id, []).append(f"{'/'.join(m.roles)} on {where}")
            return [
                (
                    t.value,
                    f"{world.users[t.user_id].user_name}, "
                    f"{'; '.join(roles.get(t.user_id, ['no membership']))}",
                )
                for t in world.tokens.values()
                if not t.revoked and t.user_id in world.users
            ]

    return tokens


class _MockSwaggerUIAPI(SwaggerUIAPI):
    def __init__(self, *args: Any, tokens: TokenLister | None = None, **kwargs: Any) -> None:
        self._tokens = tokens
        super().__init__(*args, **kwargs)

    def _spec_for_prefix(self, request) -> dict:
        # ``raw`` keeps the references; the base path (servers) is set on it all the same.
        spec = self.specification.with_base_path(self._base_path_for_prefix(request)).raw
        spec = with_empty_body_examples(spec)
        return with_tokens(spec, self._tokens()) if self._tokens is not None else spec


class MockSwaggerUI(SwaggerUIMiddleware):
    """SwaggerUIMiddleware with :class:`_MockSwaggerUIAPI`; ``tokens`` lists the world's."""

    def __init__(self, app: ASGIApp, tokens: TokenLister | None = None) -> None:
        super().__init__(app)
        self._tokens = tokens

    def add_api(self, specification, base_path=None, arguments=None, **kwargs) -> None:
        api = _MockSwaggerUIAPI(
            specification,
            base_path=base_path,
            arguments=arguments,
            default=self.default_fn,
            tokens=self._tokens,
            **kwargs,
        )
        self.router.mount(api.base_path, app=api.router)
