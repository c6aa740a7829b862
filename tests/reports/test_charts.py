"""Charts (inline SVG) and the one percent formatter of the documents."""

import re
import xml.etree.ElementTree as ET

from closeloop.reports.charts import bar_chart, line_chart, number, percent

SVG = "{http://www.w3.org/2000/svg}"


def test_percent_two_decimals_half_up_from_the_decimal_value():
    assert percent(30617 / 31263) == "97.93%"
    assert percent(0.9793) == "97.93%"
    assert percent(0.99) == "99.00%"
    assert percent(1.0) == "100.00%"
    assert percent(0.0) == "0.00%"
    # 0.12345 is 0.123449999… as a binary float; the decimal value 0.12345 rounds half up.
    assert percent(0.12345) == "12.35%"
    assert percent(0.00005) == "0.01%"
    assert percent(None) == "—"


def test_number():
    assert number(31263) == "31,263"
    assert number(2.345, 2) == "2.35"
    assert number(None) == "—"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_bar_chart_is_accessible_svg_with_labels_and_dash_for_none():
    svg = str(bar_chart([("东门街道", 0.9793), ("南湖<街道>", None)], title="各街道办结率"))
    root = _parse(svg)  # well-formed: names are escaped
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "各街道办结率"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "东门街道" in texts and "南湖<街道>" in texts
    assert "97.93%" in texts and "—" in texts
    assert len(root.findall(f"{SVG}rect")) == 2  # background + one bar: None draws no bar
    assert "Noto Sans CJK SC" in svg and "<script" not in svg


def test_bar_chart_of_counts_scales_to_a_round_maximum():
    root = _parse(
        str(bar_chart([("区住建局", 12.0), ("区水务局", 0.0)], title="超期", percent=False))
    )
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "12" in texts and "0" in texts and "20" in texts  # axis up to 20


def test_bar_chart_with_no_rows_says_so():
    assert "无数据" in str(bar_chart([], title="空"))


def test_line_chart_leaves_gaps_for_none_and_has_a_legend():
    svg = str(
        line_chart(
            ["W36", "W37", "W38", "W39", "W40"],
            [
                ("办结率", [0.95, 0.96, None, 0.97, 0.98]),
                ("按期办结率", [0.9, None, None, None, 0.93]),
            ],
            title="办结率趋势",
        )
    )
    root = _parse(svg)
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == "办结率趋势"
    # 办结率: two runs (W36–W37, W39–W40); 按期办结率: two lone points, no line.
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert len(root.findall(f"{SVG}circle")) == 6
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"办结率", "按期办结率", "W36", "W40"} <= set(texts)
    assert all(re.fullmatch(r"\d+\.\d%", t) for t in texts if t and t.endswith("%"))


def test_line_chart_without_values():
    assert "无数据" in str(line_chart(["a"], [("x", [None])], title="t"))
