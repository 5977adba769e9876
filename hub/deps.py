"""Dependencies routes declare: the signed-in actor and permission checks."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from hub.errors import NotSignedIn
from hub.policy import Action, Actor, ensure


def current_actor(request: Request) -> Actor:
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        raise NotSignedIn()
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(action: Action) -> Any:
    """A route dependency: the actor may do `action` (an action that needs no target)."""

    def check(actor: CurrentActor) -> Actor:
        ensure(actor, action)
        return actor

    dependency: Callable[..., Actor] = check
    return Depends(dependency)
