"""Fixtures of the API tests: a client holding a token of a given person."""

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub.api.models import Scope, TokenKind
from hub.members.models import Person
from tests.api.factories import api_client, token_for

ApiAs = Callable[..., TestClient]


@pytest.fixture
def api_as(app: FastAPI, db: Session) -> ApiAs:
    """A tool calling the API with a new token of `person` (personal, read and write
    unless told otherwise)."""

    def make(
        person: Person, kind: str = TokenKind.personal, scope: str = Scope.write
    ) -> TestClient:
        return api_client(app, token_for(db, person, kind, scope))

    return make
