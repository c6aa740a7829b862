"""Every label the templates ask for exists in both languages; messages split by language."""

import re
from pathlib import Path

from api.web import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"


def test_every_literal_key_in_the_templates_is_translated():
    keys = set()
    for path in TEMPLATES.glob("*.html"):
        keys |= set(re.findall(r'\bt\("([a-z_.]*[a-z_])"', path.read_text()))
    assert keys and not keys - set(i18n.T), sorted(keys - set(i18n.T))
    for zh, en in i18n.T.values():
        assert zh and en


def test_every_action_state_kind_and_role_has_a_label():
    from models.enums import Action, CaseKind, CaseState, LetterType, Role

    wanted = [f"act.{a}" for a in Action] + [f"state.{s}" for s in CaseState]
    wanted += [f"kind.{k}" for k in CaseKind] + [f"role.{r}" for r in Role]
    wanted += [f"letter.{t}" for t in LetterType] + ["act.file", "act.letter", "act.list"]
    assert [k for k in wanted if k not in i18n.T] == []


def test_a_service_message_renders_in_the_readers_language():
    import pytest

    from closeloop.auth.policy import Principal, require_visible
    from closeloop.text import Msg, render
    from models.enums import Role

    nobody = Principal(
        id=1, username="x", display_name="x", role=Role.handler, unit_code="U9", region_path="/D9/"
    )
    with pytest.raises(Exception) as refused:  # a bilingual name inside a bilingual message
        require_visible(
            nobody,
            unit_code="U1",
            region_path="/D1/",
            reporter_id=None,
            what=Msg("案件 SJ2025000001", "case SJ2025000001"),
        )
    detail = refused.value.msg
    assert render(detail, "zh") == "案件 SJ2025000001不在您的管辖范围内"
    assert render(detail, "en") == "case SJ2025000001 is outside your jurisdiction"
    assert (
        render(Msg("reject 需要填写原因", "reject needs a reason"), "en") == "reject needs a reason"
    )
    assert render("只有中文", "en") == "只有中文"


def test_pages_in_english(web, session, org):
    from tests.factories import case_in

    case = case_in(session, org, "rectifying")
    session.commit()
    c = web("h_zj")
    c.get("/lang?to=en&next=/inbox")
    inbox = c.get("/inbox").text
    assert "To sign" in inbox and "待签收" not in inbox
    page = c.get(f"/cases/{case.id}").text
    assert "Request extension" in page and "Timeline" in page
