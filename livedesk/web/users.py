"""The admins' pages: users (add, change role, disable, enable) and API tokens (create, shown once; revoke).

Every action goes through livedesk.desk.accounts, as the command line does, and is written to the audit log under
the admin who did it. An admin cannot disable or demote themselves here, so the desk always keeps the admin who
is using it (another admin, or `livedesk users`, can).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from livedesk.desk import accounts
from livedesk.desk.accounts import CreatedToken, TokenNotFoundError, UserExistsError, UserNotFoundError
from livedesk.models import Actor, Role, User
from livedesk.store import Store
from livedesk.web.auth import desk_user
from livedesk.web.inputs import read_form
from livedesk.web.pages import render

router = APIRouter(include_in_schema=False)

Admin = Annotated[User, Depends(desk_user(Role.ADMIN))]


@dataclass(frozen=True)
class Done:
    message: str
    token: CreatedToken | None = None


@router.get("/desk/users")
async def users_page(request: Request, me: Admin) -> Response:
    return await _page(request, me)


@router.post("/desk/users")
async def add_user(request: Request, me: Admin) -> Response:
    fields = await read_form(request)

    def add(store: Store) -> Done:
        user = accounts.add_user(store, fields.get("name", ""), fields.get("role", ""), fields.get("password", ""))
        _audit(store, me, "user.add", f"user:{user.name}", None, {"role": str(user.role)})
        return Done(f"Added {user.name} ({user.role}).")

    return await _act(request, me, add)


@router.post("/desk/users/role")
async def change_role(request: Request, me: Admin) -> Response:
    fields = await read_form(request)
    name = fields.get("name", "")

    def change(store: Store) -> Done:
        if name == me.name:
            raise ValueError("You cannot change your own role; ask another admin.")
        before = _user(store, name)
        user = accounts.set_role(store, name, fields.get("role", ""))
        _audit(store, me, "user.role", f"user:{name}", {"role": str(before.role)}, {"role": str(user.role)})
        return Done(f"{name} is now {user.role}.")

    return await _act(request, me, change)


@router.post("/desk/users/disable")
async def disable_user(request: Request, me: Admin) -> Response:
    return await _set_disabled(request, me, True)


@router.post("/desk/users/enable")
async def enable_user(request: Request, me: Admin) -> Response:
    return await _set_disabled(request, me, False)


@router.post("/desk/tokens")
async def create_token(request: Request, me: Admin) -> Response:
    fields = await read_form(request)

    def create(store: Store) -> Done:
        created = accounts.create_token(store, fields.get("name", ""), fields.get("label", ""))
        token = created.token
        _audit(store, me, "token.create", f"token:{token.id}", None, {"user": token.user_name, "label": token.label})
        return Done(f"Created token {token.id} for {token.user_name}.", created)

    return await _act(request, me, create)


@router.post("/desk/tokens/revoke")
async def revoke_token(request: Request, me: Admin) -> Response:
    fields = await read_form(request)

    def revoke(store: Store) -> Done:
        token_id = fields.get("token", "")
        if not token_id.isascii() or not token_id.isdigit() or len(token_id) > 10:
            raise ValueError("token: a token id")
        token = accounts.revoke_token(store, int(token_id))
        _audit(store, me, "token.revoke", f"token:{token.id}", {"revoked": False}, {"revoked": True})
        return Done(f"Revoked token {token.id} of {token.user_name}.")

    return await _act(request, me, revoke)


async def _set_disabled(request: Request, me: User, disabled: bool) -> Response:
    name = (await read_form(request)).get("name", "")

    def set_disabled(store: Store) -> Done:
        if name == me.name and disabled:
            raise ValueError("You cannot disable yourself; ask another admin.")
        before = _user(store, name)
        accounts.set_user_disabled(store, name, disabled)
        action = "user.disable" if disabled else "user.enable"
        _audit(store, me, action, f"user:{name}", {"disabled": before.disabled}, {"disabled": disabled})
        return Done(f"{name} is {'disabled: signed out everywhere, tokens stopped' if disabled else 'enabled'}.")

    return await _act(request, me, set_disabled)


async def _act(request: Request, me: User, action: Callable[[Store], Done]) -> Response:
    """Run `action` off the event loop and show the page with what came of it."""
    try:
        done = await run_in_threadpool(action, request.app.state.store)
    except UserNotFoundError as err:
        return await _page(request, me, message=f"No user {str(err)!r}.", status_code=404)
    except TokenNotFoundError as err:
        return await _page(request, me, message=f"No token {err}.", status_code=404)
    except UserExistsError as err:
        return await _page(request, me, message=f"A user {str(err)!r} exists already.", status_code=409)
    except ValueError as err:
        return await _page(request, me, message=str(err), status_code=400)
    return await _page(request, me, message=done.message, token=done.token)


async def _page(
    request: Request, me: User, *, message: str | None = None, token: CreatedToken | None = None, status_code: int = 200
) -> Response:
    store: Store = request.app.state.store
    users, tokens = await run_in_threadpool(lambda: (store.list_users(), store.list_tokens()))
    return render(
        request,
        "users.html",
        status_code=status_code,
        me=me,
        users=users,
        tokens=tokens,
        roles=list(Role),
        min_password=accounts.MIN_PASSWORD,
        message=message,
        failed=status_code >= 400,
        new_token=token,
    )


def _user(store: Store, name: str) -> User:
    user = store.get_user(name)
    if user is None:
        raise UserNotFoundError(name)
    return user


def _audit(
    store: Store, me: User, action: str, target: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> None:
    store.record_audit(Actor(me.id, me.name, me.role), action, target, before, after)
