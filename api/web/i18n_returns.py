"""The words of return review (派单异议审核) on the pages (zh, en), added to api/web/i18n.T."""

TEXTS: dict[str, tuple[str, str]] = {
    "f.reason_code": ("退单原因", "Return reason"),
    "rr.title": ("退单原因", "Return reasons"),
    "rr.hint": ("处置单位退单、申请退单时选择的原因", "What a unit picks when it returns a case"),
    "rr.new": ("新增退单原因", "New return reason"),
    "rr.name_en": ("英文名称", "English name"),
    "rr.seq": ("排序", "Order"),
    "rr.save": ("保存", "Save"),
}
