"""Dependencies routes declare: the signed-in actor and permission checks."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from hub.errors import NotSignedIn
from hub.policy import Action, Actor, ensure


async def current_actor(request: Request) -> Actor:
    # async: no I/O, so FastAPI need not send it to the threadpool.
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        raise NotSignedIn()
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(action: Action) -> Any:
    """A route dependency: the actor may do `action` (an action that needs no target)."""

    async def check(actor: CurrentActor) -> Actor:
        ensure(actor, action)
        return actor

    dependency: Callable[..., Awaitable[Actor]] = check
    return Depends(dependency)
