from typing import Annotated, Any

from fastapi import APIRouter, Form, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ClaimsDep, NowDep, SessionDep
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


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="修改自己的密码 / change my password",
)
def change_password(session: SessionDep, claims: ClaimsDep, data: PasswordChange) -> Response:
    """Any signed-in user, including one whose password was reset. Every token the user holds
    is revoked, this one too: log in again with the new password."""
    user = claims[0]
    assert user.id is not None
    auth.change_password(
        session, user_id=user.id, old_password=data.old_password, new_password=data.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", summary="当前用户 / who am I")
def me(claims: ClaimsDep) -> dict[str, Any]:
    user = claims[0]
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "unit_code": user.unit_code,
        "region_code": user.region_code,
        "must_change_password": user.must_change_password,
    }
