"""The map page's words (一图览全域), Chinese first."""

TEXTS: dict[str, tuple[str, str]] = {
    "nav.map": ("地图", "Map"),
    "map.title": ("一图览全域", "The district map"),
    "map.layers": ("图层", "Layers"),
    "map.events": ("未办结事件", "Open events"),
    "map.hazards_general": ("一般隐患", "General hazards"),
    "map.hazards_major": ("重大隐患", "Major hazards"),
    "map.major": ("挂牌督办重大隐患", "Listed major hazards"),
    "map.risks": ("风险点位", "Risk points"),
    "map.risk.major": ("重大风险", "Major risk"),
    "map.risk.significant": ("较大风险", "Significant risk"),
    "map.risk.general": ("一般风险", "General risk"),
    "map.risk.low": ("低风险", "Low risk"),
    "map.state": ("状态", "State"),
    "map.state.open": ("未办结", "Open"),
    "map.state.all": ("全部", "All"),
    "map.overdue": ("超期", "Overdue"),
    "map.overdue.any": ("不限", "Any"),
    "map.overdue.yes": ("仅超期", "Overdue only"),
    "map.overdue.no": ("未超期", "Not overdue"),
    "map.colour": ("网格着色", "Colour grids by"),
    "map.colour.none": ("不着色", "None"),
    "map.colour.open": ("未办结数", "Open cases"),
    "map.colour.overdue": ("超期未办结", "Overdue open"),
    "map.colour.closure_rate": ("办结率", "Closure rate"),
    "map.period": ("办结率统计区间 {start} 至 {end}", "Closure rate over {start} to {end}"),
    "map.no_grids": (
        "尚未导入网格边界：管理员可在“网格边界”页面上传 GeoJSON。",
        "No grid boundaries yet: an admin uploads them as GeoJSON on the grid boundaries page.",
    ),
    "map.loading": ("正在加载…", "Loading…"),
    "map.failed": ("地图数据加载失败", "The map data could not be loaded"),
    "map.no_rate": ("无数据", "No data"),
    "map.unplaced": ("{n} 件无位置，未显示", "{n} without a location, not shown"),
    "map.my_grid": ("回到我的网格", "My grid"),
    "map.all_grids": ("全部网格", "All grids"),
    "map.grid_of": (
        "所在网格：{grid}（{street}{community}）",
        "Grid: {grid} ({street} {community})",
    ),
    "map.routing": ("建议派往：{unit}", "Suggested unit: {unit}"),
    "geo.title": ("网格边界", "Grid boundaries"),
    "geo.hint": (
        "上传 GeoJSON 要素集合（FeatureCollection）：每个要素的 properties.code 为网格编码，几何为 "
        "Polygon 或 MultiPolygon，WGS-84 经纬度（GPS 坐标，经度在前）。任一要素有误则整体不导入，并逐条"
        "列出错误；重新导入会替换该网格原有边界。",
        "Upload a GeoJSON FeatureCollection: each feature's properties.code is a grid code, its "
        "geometry a Polygon or MultiPolygon in WGS-84 longitude/latitude (GPS, longitude first). "
        "Any bad feature stops the whole import and every problem is listed; importing again "
        "replaces a grid's boundary.",
    ),
    "geo.file": ("GeoJSON 文件", "GeoJSON file"),
    "geo.submit": ("导入边界", "Import boundaries"),
    "geo.done": ("已导入 {n} 个网格边界", "{n} grid boundaries imported"),
    "geo.current": ("已有边界的网格：{n} / {total}", "Grids with a boundary: {n} of {total}"),
    "geo.download": ("下载现有边界（GeoJSON）", "Download the boundaries (GeoJSON)"),
    "geo.feature": ("要素", "Feature"),
    "geo.code": ("网格编码", "Grid code"),
    "geo.error": ("问题", "Problem"),
    "admin.geo_hint": (
        "上传网格边界（GeoJSON），用于地图与定位派格",
        "Grid polygons for the map and GPS filing",
    ),
}
