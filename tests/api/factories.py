"""API tokens and clients for tests: tokens are made through hub.api.tokens, as the
Developers page makes them, and a client sends one as its bearer token."""

import itertools
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from hub.api import tokens
from hub.api.models import Scope, TokenKind
from hub.members.models import Person
from tests.intel.factories import actor_of

V1 = "/api/v1"
PROBLEM = "application/problem+json"

_numbers = itertools.count(1)


def token_for(
    session: Session,
    person: Person,
    kind: str = TokenKind.personal,
    scope: str = Scope.write,
    name: str | None = None,
) -> str:
    """A new token of `person`'s; the secret, as shown once to its maker."""
    return tokens.create(
        session, actor_of(session, person), name or f"Tool {next(_numbers)}", kind, scope
    )


def api_client(app: FastAPI, secret: str | None) -> TestClient:
    """A tool calling the API with `secret` as its bearer token (None: with no token)."""
    client = TestClient(app, follow_redirects=False)
    if secret is not None:
        client.headers["Authorization"] = f"Bearer {secret}"
    return client


def problem_of(response: Response, status: int, kind: str | None = None) -> dict[str, Any]:
    """The RFC 9457 problem details of an error answer, checked for shape; `kind` is the
    end of its `type` link, when the API names the kind of problem."""
    where = f"{response.request.method} {response.request.url} answered {response.status_code}"
    assert response.status_code == status, f"{where}: {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM), where
    body: dict[str, Any] = response.json()
    assert body["status"] == status, where
    assert isinstance(body["title"], str) and body["title"], where
    assert isinstance(body["detail"], str) and body["detail"], where
    assert body["type"].startswith("/developers#problem-"), where
    if kind is not None:
        assert body["type"] == f"/developers#problem-{kind}", where
    return body


def walk(client: TestClient, path: str, **params: str | int) -> list[list[dict[str, Any]]]:
    """Every page of a paged list, following `next_cursor` to the end."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = dict(params) | ({"cursor": cursor} if cursor is not None else {})
        response = client.get(V1 + path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"
