from typing import Annotated, Any

from fastapi import APIRouter, Form

from api.deps import ClaimsDep, CurrentUser, NowDep, SessionDep
from closeloop.auth import service as auth

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", summary="登录 / log in (OAuth2 password form)")
def token(
    session: SessionDep,
    now: NowDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> dict[str, Any]:
    access, expires = auth.login(session, username=username, password=password, now=now)
    return {"access_token": access, "token_type": "bearer", "expires_at": expires.isoformat()}


@router.post("/logout", summary="注销当前令牌 / revoke the token in use")
def logout(session: SessionDep, now: NowDep, claims: ClaimsDep) -> dict[str, str]:
    auth.revoke(session, claims=claims[1], now=now)
    return {"status": "revoked"}


@router.get("/me", summary="当前用户 / who am I")
def me(user: CurrentUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "unit_code": user.unit_code,
        "region_code": user.region_code,
    }
