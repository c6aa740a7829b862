"""`closeloop enterprises import FILE`: good rows in (committed), bad rows listed."""

import json
import sqlite3

from cli import main
from tests.safety.test_enterprises import credit, wrong
from tests.test_cli_org import dbfile  # noqa: F401 (the fixture)


def test_import_from_the_command_line(dbfile, tmp_path, capsys):  # noqa: F811
    capsys.readouterr()
    org = tmp_path / "org.xlsx"
    assert main(["org", "template", str(org)]) == 0
    assert main(["org", "import", str(org)]) == 0
    grid = (
        sqlite3.connect(dbfile)
        .execute("select code from region where level = 'grid' order by path")
        .fetchone()[0]
    )
    lines = [
        "code,name,credit_code,kind,grid_code",
        f"E1,企业一,{credit(1)},enterprise,{grid}",
        f"E2,企业二,{wrong(credit(2))},enterprise,{grid}",
    ]
    path = tmp_path / "register.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["enterprises", "import", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["imported"] == 1 and [r["row"] for r in result["rejected"]] == [3]
    codes = [r[0] for r in sqlite3.connect(dbfile).execute("select code from enterprise")]
    assert codes == ["E1"]
