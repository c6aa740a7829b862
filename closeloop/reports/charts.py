"""Charts for reports and pages: pure functions returning inline SVG (no JavaScript).

The SVG uses only what browsers and WeasyPrint both draw the same way: rect, line, polyline,
circle and text with explicit coordinates, one font stack (Noto CJK, so Chinese labels render in
PDFs), no CSS classes, no external references. Each chart is `<svg role="img">` with a `<title>`.

`percent()` and `number()` are THE formatters for figures in documents: "97.93%" (two decimals,
rounded half up from the decimal value), and "—" for a value that does not exist (None).
"""

from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

FONT = "'Noto Sans CJK SC', 'Noto Serif CJK SC', sans-serif"
DASH = "—"
PALETTE = ("#1f5fa8", "#c0392b", "#2e8b57", "#d98c1f", "#6c4ba3", "#138a9e", "#7a7a7a")
BAR = "#1f5fa8"
GRID = "#d9d9d9"
INK = "#222222"
MUTED = "#666666"


def percent(value: float | None) -> str:
    """0.979336… → "97.93%"; None → "—". Half up on the decimal value, not the binary float."""
    if value is None:
        return DASH
    cents = (Decimal(repr(float(value))) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{cents}%"


def number(value: float | None, digits: int = 0) -> str:
    """31263 → "31,263"; 2.345 (digits=2) → "2.35"; None → "—"."""
    if value is None:
        return DASH
    if digits == 0 and float(value).is_integer():
        return f"{int(value):,}"
    step = Decimal(1).scaleb(-digits)
    rounded = Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP)
    return f"{rounded:,}"


def _fmt(value: float | None, is_percent: bool) -> str:
    return percent(value) if is_percent else number(value, 0 if _integral(value) else 2)


def _integral(value: float | None) -> bool:
    return value is None or float(value).is_integer()


def text_width(text: str, size: float) -> float:
    """Approximate advance width: CJK and full-width characters 1 em, others ~0.6 em."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in text)


def _clip(text: str, size: float, room: float) -> str:
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(
    x: float,
    y: float,
    body: str,
    *,
    size: float = 12,
    anchor: str = "start",
    fill: str = INK,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}" font-family="{FONT}">{escape(body)}</text>'
    )


def _svg(width: int, height: float, title: str, parts: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{_n(height)}" viewBox="0 0 {width} {_n(height)}" class="chart">'
        f"<title>{escape(title)}</title>"
        f'<rect x="0" y="0" width="{width}" height="{_n(height)}" fill="#ffffff"/>'
    )
    return Markup(head + "".join(parts) + "</svg>")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = float(Decimal(str(step)) * magnitude)
        if top >= value:
            return top
    return value  # pragma: no cover


def _steps(scale: float) -> int:
    """Tick intervals that land on round numbers: 5 → 0,1,…,5; 20 → 0,5,…,20; 250 → 0,50,…"""
    mantissa = scale / float(Decimal(10) ** (len(str(int(scale))) - 1))
    return 4 if mantissa in (2.0, 20.0) else 5


def bar_chart(
    rows: list[tuple[str, float | None]],
    *,
    title: str,
    percent: bool = True,
    width: int = 640,
) -> Markup:
    """Horizontal bars, one per (label, value), with the value written after the bar.

    Percent charts run 0–100%; counts run 0 to a round maximum. None draws no bar and "—".
    """
    size, row_h, top = 12.0, 22.0, 30.0
    label_w = min(max((text_width(label, size) for label, _ in rows), default=40) + 10, width * 0.3)
    value_w = 64.0
    plot_x, plot_w = label_w, max(width - label_w - value_w, 40)
    values = [float(v) for _, v in rows if v is not None]
    scale = 1.0 if percent else max(_nice_max(max(values, default=0.0)), 5.0)
    steps = 4 if percent else _steps(scale)
    height = top + max(len(rows), 1) * row_h + 24
    parts = [_text(width / 2, 18, title, size=14, anchor="middle", weight="bold")]
    for tick in range(steps + 1):
        x = plot_x + plot_w * tick / steps
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(top - 4)}" x2="{_n(x)}" '
            f'y2="{_n(top + len(rows) * row_h)}" stroke="{GRID}" stroke-width="1"/>'
        )
        tick_value = scale * tick / steps
        label = (
            _fmt(tick_value, True).replace(".00", "")
            if percent
            else number(tick_value, 0 if float(tick_value).is_integer() else 1)
        )
        parts.append(_text(x, height - 8, label, size=10, anchor="middle", fill=MUTED))
    if not rows:
        parts.append(_text(plot_x + plot_w / 2, top + 15, "无数据", anchor="middle", fill=MUTED))
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        parts.append(_text(label_w - 6, y + 15, _clip(label, size, label_w - 8), anchor="end"))
        end = plot_x
        if value is not None:
            bar_w = plot_w * max(min(float(value) / scale, 1.0), 0.0)
            end = plot_x + bar_w
            parts.append(
                f'<rect x="{_n(plot_x)}" y="{_n(y + 4)}" width="{_n(bar_w)}" '
                f'height="{_n(row_h - 8)}" fill="{BAR}"/>'
            )
        parts.append(_text(end + 4, y + 15, _fmt(value, percent), size=11))
    return _svg(width, height, title, parts)


def _axis(values: list[float], is_percent: bool) -> tuple[float, float]:
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if is_percent:
        lo = max(0.0, (int(low * 10 - 1e-9)) / 10) if low < 1 else 0.9
        hi = min(1.0, (int(high * 10 + 0.999999)) / 10) if high > 0 else 0.1
        if hi <= lo:
            hi = min(1.0, lo + 0.1)
            lo = hi - 0.1
        return lo, hi
    return 0.0, _nice_max(high)


def line_chart(
    labels: list[str],
    series: list[tuple[str, list[float | None]]],
    *,
    title: str,
    percent: bool = True,
    width: int = 640,
) -> Markup:
    """Trend lines over `labels`, one per (name, values), with a legend; None leaves a gap."""
    height, top, left, right, bottom = 260.0, 30.0, 56.0, 16.0, 58.0
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(v) for _, vs in series for v in vs if v is not None]
    lo, hi = _axis(values, percent)
    parts = [_text(width / 2, 18, title, size=14, anchor="middle", weight="bold")]

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    room = plot_w / max(len(labels), 1)

    def x_of(i: int) -> float:
        return left + room * (i + 0.5)

    for tick in range(5):
        v = lo + (hi - lo) * tick / 4
        y = y_of(v)
        parts.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        label = (
            f"{Decimal(repr(v * 100)).quantize(Decimal('0.1'))}%"
            if percent
            else number(v, 0 if float(v).is_integer() else 1)
        )
        parts.append(_text(left - 5, y + 4, label, size=10, anchor="end", fill=MUTED))
    for i, label in enumerate(labels):
        parts.append(
            _text(
                x_of(i),
                top + plot_h + 16,
                _clip(label, 10, room - 2),
                size=10,
                anchor="middle",
                fill=MUTED,
            )
        )
    if not values:
        parts.append(
            _text(left + plot_w / 2, top + plot_h / 2, "无数据", anchor="middle", fill=MUTED)
        )
    for s, (_name, vs) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        run: list[str] = []
        points: list[float | None] = [*vs, None]
        for i, point in enumerate(points):
            if point is not None and i < len(labels):
                px, py = _n(x_of(i)), _n(y_of(float(point)))
                run.append(f"{px},{py}")
                parts.append(f'<circle cx="{px}" cy="{py}" r="3" fill="{color}"/>')
                continue
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{color}" '
                    f'stroke-width="2"/>'
                )
            run = []
    x, y = left, height - 14
    for s, (name, _vs) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="14" height="4" fill="{color}"/>')
        parts.append(_text(x + 18, y - 3, name, size=11))
        x += 18 + text_width(name, 11) + 18
    return _svg(width, height, title, parts)
