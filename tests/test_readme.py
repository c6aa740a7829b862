"""The README stands on its own: nothing it names lies outside the repository, and every file or
folder of the repository it names exists (a moved module leaves no stale pointer behind)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TOP = ("closeloop/", "api/", "models/", "workflows/", "notifications/", "tests/", "bench/")
TOP += ("scripts/", "docs/", ".ci/")


def test_the_readme_points_at_nothing_outside_the_repository() -> None:
    outside = re.findall(r"(?:\.\./|/work/)[\w./-]*", README)
    assert outside == []


def test_every_markdown_link_of_the_readme_resolves_inside_the_repository() -> None:
    links = [t for t in re.findall(r"\]\(([^)\s]+)\)", README) if not t.startswith("http")]
    assert links, "the README links its docs"
    missing = [t for t in links if not (ROOT / t.split("#")[0]).exists()]
    assert missing == []


def test_every_repository_path_the_readme_names_exists() -> None:
    named = {p.split(":")[0] for p in re.findall(r"`([\w./-]+)`", README) if p.startswith(TOP)}
    assert len(named) > 20
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == []


def test_the_domain_and_the_contract_are_in_docs() -> None:
    for name, heading in (("design.md", "# Closeloop — design"), ("contract.md", "contract")):
        text = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert heading in text
    assert "PATCH /api/v1/regions/{code}" in (ROOT / "docs/contract.md").read_text()
