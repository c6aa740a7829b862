"""Filing without signal (离线上报): the words of the phone's outbox, added to api/web/i18n.T."""

TEXTS: dict[str, tuple[str, str]] = {
    "off.nav": ("待发送", "To send"),
    "off.waiting": ("待发送的上报", "Reports waiting to be sent"),
    "off.sent": ("已发送", "Sent"),
    "off.saved": (
        "无网络：已保存在本机，联网后自动发送",
        "No network: saved on this phone, sent when the network returns",
    ),
    "off.saved_at": ("保存于", "Saved"),
    "off.sent_at": ("发送于", "Sent"),
    "off.photos": ("张照片", "photo(s)"),
    "off.rejected": ("被退回，请修改或放弃", "Refused: edit it or discard it"),
    "off.edit": ("修改", "Edit"),
    "off.discard": ("放弃", "Discard"),
    "off.confirm_discard": ("放弃这条上报？照片也将删除。", "Discard this report and its photos?"),
    "off.editing": (
        "正在修改已保存的上报（已保存的照片保留，可再添加）",
        "Editing a saved report (its photos are kept; you may add more)",
    ),
    "off.login": ("登录后才能发送待发送的上报", "Log in to send the reports waiting here"),
    "off.sending": ("正在发送…", "Sending…"),
    "off.required": ("请填写：{what}", "Please fill in: {what}"),
    "off.grid_or_place": (
        "网格（或企业、位置）",
        "grid (or an enterprise or a location)",
    ),
    "off.no_storage": (
        "本机无法保存离线上报（浏览器不支持或空间不足）",
        "This phone cannot keep the report (the browser refuses to store it)",
    ),
}
