"""The workbook's sheets and columns: their names (English, with Chinese aliases), which are
required, what each means (for the template's 说明 sheet), and how a cell becomes a field's value.

The columns are the fields of the POST bodies (RegionCreate, UnitCreate, CategoryCreate,
UserCreate) plus `active`."""

from dataclasses import dataclass

from pydantic import ValidationError

from closeloop import labels
from closeloop.text import Msg
from models.enums import RegionLevel, Role


@dataclass(frozen=True)
class Column:
    name: str
    zh: str  # the Chinese header, also accepted in place of the name
    required: bool
    help: Msg  # what the column holds, for the template's instructions


def _c(name: str, zh: str, required: bool, help_zh: str, help_en: str) -> Column:
    return Column(name, zh, required, Msg(help_zh, help_en))


ACTIVE = _c(
    "active",
    "启用",
    False,
    "是/否（留空：新建为启用，更新时不变）",
    "yes/no, true/false, 1/0 (empty: a new row is active, an existing one keeps its state)",
)
SHEETS: dict[str, tuple[Column, ...]] = {
    "regions": (
        _c(
            "code",
            "编码",
            True,
            "区域编码（字母、数字、_ . -，最长 40）",
            "region code (letters, digits, _ . -; up to 40)",
        ),
        _c("name", "名称", True, "区域名称", "the region's name"),
        _c(
            "level", "层级", True, "区 / 街道 / 社区 / 网格", "district / street / community / grid"
        ),
        _c(
            "parent_code",
            "上级编码",
            False,
            "上级区域编码（区留空）",
            "the parent region's code (empty for a district)",
        ),
        ACTIVE,
    ),
    "units": (
        _c("code", "编码", True, "单位编码", "unit code"),
        _c("name", "名称", True, "单位全称", "the unit's full name"),
        _c(
            "short_name",
            "简称",
            True,
            "简称（用于函件编号，最长 20 字）",
            "short name, used in letter numbers (up to 20 characters)",
        ),
        _c("email", "邮箱", False, "单位通知邮箱", "the unit's email for notices"),
        _c(
            "head_email",
            "负责人邮箱",
            False,
            "负责人邮箱（警示函）",
            "the head's email (warning letters)",
        ),
        _c(
            "webhook_url",
            "群机器人地址",
            False,
            "企业微信/钉钉群机器人地址（http:// 或 https://）",
            "WeCom/DingTalk group robot URL (http:// or https://)",
        ),
        _c(
            "region_code",
            "区域编码",
            False,
            "单位服务的区（留空：服务所有区）",
            "the district the unit serves (empty: every district)",
        ),
        ACTIVE,
    ),
    "categories": (
        _c("code", "编码", True, "类别编码", "category code"),
        _c("name", "名称", True, "类别名称", "the category's name"),
        _c(
            "parent_code",
            "上级编码",
            False,
            "所属大类编码（大类留空）",
            "the class's code (empty for a class)",
        ),
        _c(
            "unit_code",
            "单位编码",
            False,
            "默认处置单位编码（小类必填）",
            "the default unit's code (required for an item)",
        ),
        _c(
            "limit_days",
            "整改时限",
            False,
            "整改时限，工作日 1–365（小类必填）",
            "rectification limit in working days, 1–365 (required for an item)",
        ),
        _c(
            "sign_hours",
            "签收时限",
            False,
            "签收时限，小时（0–240，可留空）",
            "time to sign for a case, in hours (0–240; may be empty)",
        ),
        ACTIVE,
    ),
    "users": (
        _c(
            "username",
            "用户名",
            True,
            "登录名（字母、数字、_ . @ -）",
            "login name (letters, digits, _ . @ -)",
        ),
        _c("display_name", "姓名", True, "姓名", "the person's name"),
        _c(
            "role",
            "角色",
            True,
            "网格员 / 受理派遣 / 处置单位 / 督办 / 管理员",
            "reporter / dispatcher / handler / supervisor / admin",
        ),
        _c(
            "unit_code",
            "单位编码",
            False,
            "所属单位编码（处置单位人员必填）",
            "their unit's code (required for a handler)",
        ),
        _c(
            "region_code",
            "区域编码",
            False,
            "辖区编码（网格员、受理派遣、督办必填）",
            "their jurisdiction's region code (required for reporter, dispatcher, supervisor)",
        ),
        _c("email", "邮箱", False, "邮箱", "email"),
        _c(
            "password",
            "密码",
            False,
            "初始密码（至少 8 位）；留空则生成一次性密码，首次登录须修改；更新时留空不改",
            "initial password (8+ characters); empty: a one-time password is generated and must be changed at first login; empty on an existing user: unchanged",
        ),
        ACTIVE,
    ),
}
KEY = {"regions": "code", "units": "code", "categories": "code", "users": "username"}
SHEET_ZH = {"regions": "区域", "units": "单位", "categories": "类别", "users": "用户"}
SHEET_NAMES = {
    **{s: s for s in SHEETS},
    "region": "regions",  # the singular too: a sheet silently skipped would be worse
    "unit": "units",
    "category": "categories",
    "user": "users",
    **{zh: s for s, zh in SHEET_ZH.items()},
}
EXTRA_ALIASES = {
    "代码": "code",
    "级别": "level",
    "上级": "parent_code",
    "有效": "active",
    "显示名": "display_name",
    "账号": "username",
}

LEVELS = {
    **{level.value: level.value for level in RegionLevel},
    "区": "district",
    "区县": "district",
    "街道": "street",
    "社区": "community",
    "网格": "grid",
}
ROLES = {
    **{role.value: role.value for role in Role},
    **{label.zh: role.value for role, label in labels.ROLE.items()},
    "处置人员": "handler",
    "派遣员": "dispatcher",
}
TRUE = {"1", "true", "yes", "y", "是", "启用", "有效", "t"}
FALSE = {"0", "false", "no", "n", "否", "停用", "无效", "f"}


def sheet_name(title: str) -> str | None:
    """The sheet a worksheet title or a CSV file name stands for (case-insensitive)."""
    return SHEET_NAMES.get(title.strip().lower())


def column_name(sheet: str, header: str) -> str | None:
    """The field a header cell names: the field, its Chinese header or an alias, in any case;
    a second line or a bracketed note after the name is ignored ("limit_days\n整改时限")."""
    text = header.strip().lstrip("\ufeff").splitlines()[0] if header.strip() else ""
    for bracket in ("(", "（"):
        text = text.split(bracket)[0]
    text = text.strip().lower()
    for column in SHEETS[sheet]:
        if text in (column.name, column.zh):
            return column.name
    alias = EXTRA_ALIASES.get(text)
    return alias if alias in {c.name for c in SHEETS[sheet]} else None


def cell_text(value: object) -> str | None:
    """A cell as text (a whole number without its .0; a boolean as true/false), None if empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def boolean(value: str) -> bool | None:
    """是/否, true/false, yes/no, 1/0; None when it is none of them."""
    text = value.strip().lower()
    return True if text in TRUE else False if text in FALSE else None


# The Chinese half of pydantic's error types (the English half is pydantic's own message).
_ZH = {
    "missing": "必填",
    "string_too_short": "不能为空",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符（只能用字母、数字和 _ . - 等）",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "必须大于 {gt}",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "enum": "可选值：{expected}",
    "bool_parsing": "应为 是/否",
    "value_error": "取值无效",
}


def invalid_fields(exc: ValidationError) -> Msg:
    """A schema's refusal as one message naming each field and what is allowed."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error.get("loc", ())) or "row"
        zh = _ZH.get(error["type"], "取值无效")
        try:
            zh = zh.format(**(error.get("ctx") or {}))
        except (KeyError, IndexError):
            pass
        parts.append(Msg(f"{field} {zh}", f"{field}: {error['msg']}"))
    return Msg.join(parts)
