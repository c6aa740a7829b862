"""closeloop/org/users.py: changing users, the last admin, one-time passwords and unlocking."""

from datetime import timedelta

import pytest

from closeloop.auth import security
from closeloop.auth import service as auth
from closeloop.errors import Conflict, Invalid, NotFound, TooManyRequests, Unauthorized
from closeloop.org import service as org_service
from models.enums import Role
from models.user import User, UserUpdate
from tests.factories import NOW, PASSWORD


def _token(session, username: str, password: str = PASSWORD) -> str:  # type: ignore[no-untyped-def]
    return auth.login(session, username=username, password=password, now=NOW)[0]


def test_update_user_fields_and_rules(session, org):  # type: ignore[no-untyped-def]
    u = org_service.update_user(
        session,
        username="rep1",
        data=UserUpdate(display_name="新名字", region_code="G2", email="a@b.cn"),
        now=NOW,
    )
    assert (u.display_name, u.region_code, u.email) == ("新名字", "G2", "a@b.cn")
    with pytest.raises(Invalid, match="handler needs unit_code"):
        org_service.update_user(
            session, username="rep1", data=UserUpdate(role=Role.handler), now=NOW
        )
    with pytest.raises(Invalid, match="region_code"):
        org_service.update_user(
            session, username="rep1", data=UserUpdate(region_code=None), now=NOW
        )
    with pytest.raises(Invalid, match="unit_code does not exist"):
        org_service.update_user(session, username="h_zj", data=UserUpdate(unit_code="NO"), now=NOW)
    u = org_service.update_user(
        session, username="rep1", data=UserUpdate(role=Role.handler, unit_code="ZJ"), now=NOW
    )
    assert (u.role, u.unit_code) == (Role.handler, "ZJ")
    with pytest.raises(NotFound):
        org_service.update_user(session, username="ghost", data=UserUpdate(active=False), now=NOW)


def test_deactivating_revokes_tokens_at_once(session, org):  # type: ignore[no-untyped-def]
    token = _token(session, "disp")
    auth.principal_for(session, token=token, now=NOW)
    org_service.update_user(session, username="disp", data=UserUpdate(active=False), now=NOW)
    with pytest.raises(Unauthorized):
        auth.principal_for(session, token=token, now=NOW)
    org_service.update_user(session, username="disp", data=UserUpdate(active=True), now=NOW)
    with pytest.raises(Unauthorized):  # reactivation does not revive the old token
        auth.principal_for(session, token=token, now=NOW)


def test_a_new_password_revokes_tokens(session, org):  # type: ignore[no-untyped-def]
    token = _token(session, "sup")
    org_service.update_user(
        session, username="sup", data=UserUpdate(password="another-password"), now=NOW
    )
    with pytest.raises(Unauthorized):
        auth.principal_for(session, token=token, now=NOW)
    assert _token(session, "sup", "another-password")


def test_the_last_active_admin_stays(session, org):  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict, match="last active admin"):
        org_service.update_user(session, username="admin", data=UserUpdate(active=False), now=NOW)
    with pytest.raises(Conflict, match="make another user an admin"):
        org_service.update_user(
            session,
            username="admin",
            data=UserUpdate(role=Role.supervisor, region_code="D1"),
            now=NOW,
        )
    org_service.update_user(
        session, username="sup", data=UserUpdate(role=Role.admin, region_code=None), now=NOW
    )
    u = org_service.update_user(session, username="admin", data=UserUpdate(active=False), now=NOW)
    assert u.active is False


def test_reset_password_gives_a_one_time_password(session, org):  # type: ignore[no-untyped-def]
    token = _token(session, "rep1")
    password = org_service.reset_password(session, username="rep1", now=NOW)
    assert len(password) >= 12
    user = org_service.get_user(session, username="rep1")
    assert user.must_change_password and password not in user.password_hash
    assert security.verify_password(user.password_hash, password)
    with pytest.raises(Unauthorized):
        auth.principal_for(session, token=token, now=NOW)
    principal, _ = auth.principal_for(session, token=_token(session, "rep1", password), now=NOW)
    assert principal.must_change_password
    assert org_service.reset_password(session, username="rep1", now=NOW) != password


def test_change_password_clears_the_flag(session, org):  # type: ignore[no-untyped-def]
    one_time = org_service.reset_password(session, username="rep1", now=NOW)
    user = org_service.get_user(session, username="rep1")
    assert user.id is not None
    with pytest.raises(Invalid, match="old_password"):
        auth.change_password(
            session, user_id=user.id, old_password="x", new_password="long-enough-1"
        )
    with pytest.raises(Invalid, match="new_password"):
        auth.change_password(session, user_id=user.id, old_password=one_time, new_password="short")
    with pytest.raises(Invalid, match="different"):
        auth.change_password(session, user_id=user.id, old_password=one_time, new_password=one_time)
    auth.change_password(
        session, user_id=user.id, old_password=one_time, new_password="mine-at-last"
    )
    assert session.get(User, user.id).must_change_password is False
    assert _token(session, "rep1", "mine-at-last")


def test_unlock_and_is_locked(session, org):  # type: ignore[no-untyped-def]
    for _ in range(10):
        try:
            auth.login(session, username="rep1", password="wrong", now=NOW)
        except Unauthorized:
            pass
        except TooManyRequests:
            break
    assert org_service.is_locked(session, username="rep1", now=NOW)
    assert org_service.locked_users(session, now=NOW) == {"rep1"}, "the list reads the same rule"
    assert not org_service.is_locked(session, username="rep1", now=NOW + timedelta(days=1))
    assert org_service.locked_users(session, now=NOW + timedelta(days=1)) == set()
    with pytest.raises(TooManyRequests):
        _token(session, "rep1")
    org_service.unlock_user(session, username="rep1")
    assert not org_service.is_locked(session, username="rep1", now=NOW)
    assert _token(session, "rep1")
    with pytest.raises(NotFound):
        org_service.unlock_user(session, username="ghost")
