#!/usr/bin/env python3
"""Turn "中文 / English" message literals into Msg("中文", "English") values (issue 11, point 4).

Run from the repository root, on files or folders (default: every package):

    /work/main/.venv/bin/python scripts/codemod_msgs.py                 # rewrite in place
    /work/main/.venv/bin/python scripts/codemod_msgs.py closeloop/org   # some paths only
    /work/main/.venv/bin/python scripts/codemod_msgs.py --check         # change nothing; exit 1
                                                                        # if something would change

What it converts (a string literal, an f-string, or several of them concatenated implicitly):
  - the first argument of a DomainError subclass: `raise Conflict("案件已被修改 / the case was
    changed")` → `raise Conflict(Msg("案件已被修改", "the case was changed"))`; f-strings stay
    f-strings on both sides (`Msg(f"案件 {n} 不在…", f"case {n} is outside …")`);
  - a name assigned such a literal in the same file and then raised (`BAD_LOGIN = "… / …"`);
  - the `what=` argument of any call (`require_visible(..., what=f"案件 {n} / case {n}")`), and
    the arguments and returns listed in HELPER_ARGS and RETURN_SITES below (with `-> str` in the
    function's return annotation becoming `-> Msg`).
A literal is split only where exactly one top-level " / " (not inside an f-string's braces;
"）/ " after full-width punctuation counts too) separates a part with Chinese characters from a
part with Latin letters (and, for a name passed to a helper, the English part names no field the
Chinese part lacks: "区域 / region {code}" is left for a human); everything else is listed under "by hand" with
its file and line, and left as it is. `from closeloop.text import Msg` is added where needed, and
the imports of a changed file are re-sorted with `ruff check --select I --fix` when ruff is found
beside the interpreter.

It is idempotent: a `Msg(...)` is never touched again, so a second run changes nothing, and a
file with nothing to convert is not written at all.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ERRORS = {
    "DomainError",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Invalid",
    "TooManyRequests",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "PolicyError",
}  # and any class a file derives from one of these
# Helper functions that take a message (or a bilingual name) as an argument: name → positions
# (0-based, positional) and keyword names.
HELPER_ARGS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "_exists": ((3,), ("what",)),
    "_insert": ((2,), ("what",)),
}
KEYWORDS = ("what",)  # keyword arguments converted in any call
# Functions whose string returns are messages raised by their callers.
RETURN_SITES = {"precondition_failure", "_msg"}
DEFAULT_PATHS = ("closeloop", "models", "api", "workflows", "notifications", "cli.py")
SKIP_FILES = {"closeloop/text.py", "closeloop/labels.py"}
IMPORT = "from closeloop.text import Msg"
SEP = " / "
# " / ", or "/ " right after full-width punctuation ("（例如 …）/ English").
SEPARATOR = re.compile(r" / |(?<=[\u3000-\u303f\uff00-\uffef])/ ")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
LATIN = re.compile(r"[A-Za-z]")
FIELD = re.compile(r"\{([^{}:!]+)")


@dataclass
class Report:
    converted: list[str] = field(default_factory=list)
    by_hand: list[str] = field(default_factory=list)
    changed_files: list[Path] = field(default_factory=list)


@dataclass
class Piece:
    prefix: str
    quote: str
    body: str
    start: int  # offsets in the segment
    end: int

    @property
    def is_f(self) -> bool:
        return "f" in self.prefix.lower()

    def text(self, body: str) -> str:
        prefix = self.prefix
        if self.is_f and "{" not in body and "}" not in body:
            prefix = re.sub("[fF]", "", prefix)
        return f"{prefix}{self.quote}{body}{self.quote}"


class Skip(Exception):
    """The literal cannot be converted safely: why."""


def _pieces(segment: str) -> list[Piece]:
    """The string tokens of a literal's source (one or several, implicitly concatenated)."""
    wrapped = "(" + segment + ")"
    lines = wrapped.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    out: list[Piece] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(wrapped).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise Skip(f"cannot tokenize ({exc})") from None
    for tok in tokens[1:]:
        if tok.type == tokenize.STRING:
            m = re.match(r"(?s)([A-Za-z]*)('''|\"\"\"|'|\")(.*)\2$", tok.string)
            if m is None:
                raise Skip("odd string token")
            if "b" in m.group(1).lower():
                raise Skip("bytes literal")
            start = starts[tok.start[0] - 1] + tok.start[1] - 1
            end = starts[tok.end[0] - 1] + tok.end[1] - 1
            out.append(Piece(m.group(1), m.group(2), m.group(3), start, end))
        elif tok.type == tokenize.OP and tok.string == ")" and tok.end[0] == len(lines):
            break
        elif tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE):
            raise Skip("not a plain literal (an expression, not only strings)")
    if not out:
        raise Skip("no string")
    return out


def _top_level(piece: Piece) -> list[tuple[int, str]]:
    """(index, char) of the body's characters outside an f-string's replacement fields; the
    characters inside them are given as NUL so a separator there is never found."""
    if not piece.is_f:
        return list(enumerate(piece.body))
    out: list[tuple[int, str]] = []
    depth, i, body = 0, 0, piece.body
    while i < len(body):
        ch = body[i]
        if depth == 0 and body.startswith(("{{", "}}"), i):
            out += [(i, ch), (i + 1, ch)]
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            out.append((i, "\0"))
            i += 1
            continue
        out.append((i, ch if depth == 0 else "\0"))
        i += 1
    return out


def split_literal(segment: str, name: bool = False) -> str:
    """`Msg(<zh pieces>, <en pieces>)` for a literal's source, or Skip. A `name` ("案件 {n} /
    case {n}") must not be "区域 / region {code}", whose code the Chinese half would lose."""
    pieces = _pieces(segment)
    chars = [(p, i, ch) for p, piece in enumerate(pieces) for i, ch in _top_level(piece)]
    flat = "".join(ch for _, _, ch in chars)
    hits = list(SEPARATOR.finditer(flat))
    if len(hits) != 1:
        raise Skip(f"{len(hits)} top-level {SEP.strip()!r} separators (need exactly one)")
    at, stop = hits[0].span()
    (pa, ia, _), (pb, ib, _) = chars[at], chars[stop - 1]
    zh_pieces = [(p, p.body) for p in pieces[:pa]] + [(pieces[pa], pieces[pa].body[:ia])]
    en_pieces = [(pieces[pb], pieces[pb].body[ib + 1 :])] + [(p, p.body) for p in pieces[pb + 1 :]]
    zh_text = "".join(b for _, b in zh_pieces)
    en_text = "".join(b for _, b in en_pieces)
    if not CJK.search(flat[:at]) or not LATIN.search(flat[stop:]):
        raise Skip("the parts around the separator are not Chinese, then English")
    if name and set(FIELD.findall(en_text)) - set(FIELD.findall(zh_text)):
        raise Skip("the English part names a field the Chinese part lacks")

    def side(parts: list[tuple[Piece, str]]) -> str:
        kept = [(p, b) for p, b in parts if b] or parts[:1]
        text = ""
        for n, (p, b) in enumerate(kept):
            if n:
                prev = kept[n - 1][0]
                gap = segment[prev.end : p.start] if prev is not p else " "
                text += gap
            text += p.text(b)
        return text

    return f"Msg({side(zh_pieces)}, {side(en_pieces)})"


class File:
    def __init__(self, path: Path, source: str, report: Report) -> None:
        self.path = path
        self.source = source
        self.report = report
        self.lines = source.splitlines(keepends=True)
        self.edits: dict[tuple[int, int], str] = {}
        self.tree = ast.parse(source)
        self.line_starts = [0]
        for line in self.lines:
            self.line_starts.append(self.line_starts[-1] + len(line.encode()))
        self.raw = source.encode()

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.line_starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = self.line_starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def where(self, node: ast.AST) -> str:
        return f"{self.path}:{node.lineno}"  # type: ignore[attr-defined]

    def convert(self, node: ast.expr, what: str, quiet: bool = False, name: bool = False) -> None:
        if isinstance(node, ast.Call) and _name(node.func) == "Msg":
            return  # done already
        if isinstance(node, ast.Call):
            return  # a helper's result: converted where it is written, checked by mypy
        if not isinstance(node, ast.Constant | ast.JoinedStr) or (
            isinstance(node, ast.Constant) and not isinstance(node.value, str)
        ):
            if not quiet:
                self.report.by_hand.append(
                    f"{self.where(node)}: {what}: not a literal "
                    f"({ast.unparse(node)[:60]}); make sure it is a Msg"
                )
            return
        start, end = self.span(node)
        segment = self.raw[start:end].decode()
        try:
            new = split_literal(segment, name)
        except Skip as why:
            if CJK.search(segment) or not quiet:
                self.report.by_hand.append(f"{self.where(node)}: {what}: {why}: {segment[:70]}")
            return
        self.edits[(start, end)] = new
        self.report.converted.append(f"{self.where(node)}: {what}")
        for name in KEYWORDS:
            if "{" + name + "}" in new:
                self.report.by_hand.append(
                    f"{self.where(node)}: {what}: interpolates {name!r}, a Msg: write "
                    f"{{{name}:zh}} and {{{name}:en}}"
                )

    def run(self) -> str:
        raised_names: set[str] = set()
        errors = set(ERRORS)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef) and any(_name(b) in errors for b in node.bases):
                own_init = any(
                    isinstance(f, ast.FunctionDef) and f.name == "__init__" for f in node.body
                )
                if not own_init:  # a subclass with its own __init__ takes other arguments
                    errors.add(node.name)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                name = _name(node.func)
                if name in errors and node.args:
                    arg = node.args[0]
                    if isinstance(arg, ast.Name):
                        raised_names.add(arg.id)
                    elif isinstance(arg, ast.JoinedStr) and _uses_name_only(arg):
                        raised_names |= _names_in(arg)
                        self.report.by_hand.append(
                            f"{self.where(arg)}: {name}: a message built around a variable "
                            f"({ast.unparse(arg)[:60]}); write it as Msg(...) by hand"
                        )
                    else:
                        self.convert(arg, name)
                if name in HELPER_ARGS:
                    positions, keywords = HELPER_ARGS[name]
                    for i in positions:
                        if i < len(node.args):
                            self.convert(node.args[i], f"{name} argument {i}", name=True)
                    for kw in node.keywords:
                        if kw.arg in keywords:
                            self.convert(kw.value, f"{name}({kw.arg}=)", name=True)
                for kw in node.keywords:
                    if kw.arg in KEYWORDS and name not in HELPER_ARGS:
                        self.convert(kw.value, f"{name}({kw.arg}=)", quiet=True, name=True)
            elif isinstance(node, ast.FunctionDef) and node.name in RETURN_SITES:
                self.returns(node)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id in raised_names:
                    self.convert(node.value, f"{target.id} =", quiet=True)
        if not self.edits:
            return self.source
        out = self.raw
        for (start, end), new in sorted(self.edits.items(), reverse=True):
            out = out[:start] + new.encode() + out[end:]
        return _with_import(out.decode())

    def returns(self, func: ast.FunctionDef) -> None:
        for node in ast.walk(func):
            if isinstance(node, ast.Return) and node.value is not None:
                if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                    self.convert(node.value, f"{func.name} returns")
        if func.returns is not None:
            start, end = self.span(func.returns)
            text = self.raw[start:end].decode()
            new = re.sub(r"\bstr\b", "Msg", text)
            if new != text:
                self.edits[(start, end)] = new


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _names_in(node: ast.JoinedStr) -> set[str]:
    return {
        v.value.id
        for v in node.values
        if isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name)
    }


def _uses_name_only(node: ast.JoinedStr) -> bool:
    """An f-string that wraps a message held in a variable: f"{why} ({detail})"."""
    text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return not CJK.search(text) and SEP not in text and bool(_names_in(node))


def _with_import(source: str) -> str:
    if re.search(r"^from closeloop\.text import .*\bMsg\b", source, re.M) or re.search(
        r"^from closeloop\.text import \([^)]*\bMsg\b", source, re.M
    ):
        return source
    tree = ast.parse(source)
    last = None
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            last = node
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break
    lines = source.splitlines(keepends=True)
    if last is None:
        return IMPORT + "\n" + source
    at = last.end_lineno or last.lineno
    return "".join(lines[:at]) + IMPORT + "\n" + "".join(lines[at:])


def files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return [p for p in out if p.as_posix() not in SKIP_FILES and "migrations" not in p.parts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on changes")
    args = parser.parse_args(argv)
    report = Report()
    for path in files(args.paths):
        source = path.read_text()
        new = File(path, source, report).run()
        if new != source:
            report.changed_files.append(path)
            if not args.check:
                path.write_text(new)
    if report.changed_files and not args.check:
        ruff = Path(sys.executable).with_name("ruff")
        if ruff.exists():
            subprocess.run(
                [
                    str(ruff),
                    "check",
                    "--quiet",
                    "--select",
                    "I",
                    "--fix",
                    *map(str, report.changed_files),
                ],
                check=False,
            )
        else:
            print("ruff not found: sort the imports of the changed files", file=sys.stderr)
    print(f"converted {len(report.converted)} literal(s) in {len(report.changed_files)} file(s)")
    for line in report.converted:
        print("  ", line)
    if report.by_hand:
        print(f"by hand ({len(report.by_hand)}):")
        for line in report.by_hand:
            print("  ", line)
    return 1 if args.check and report.changed_files else 0


if __name__ == "__main__":
    sys.exit(main())
