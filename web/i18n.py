"""User-facing strings of the map pages, Chinese first; English when GRIDGOV_LANGUAGE=en.

Keys starting with ``js.`` are handed to the page's JavaScript (``web/static/gridgov/*.js``) by
:func:`js_strings`, so both halves of a page read one catalogue.
"""

from __future__ import annotations

from gis.incidents.vocabulary import STATUS_LABELS_ZH, STATUSES

# English names of the incident statuses; the Chinese ones are the vocabulary's (the API's
# ``status_label`` says the same).
_STATUS_EN = {
    "reported": "Reported",
    "registered": "Registered",
    "rejected": "Rejected",
    "dispatched": "Dispatched",
    "in_progress": "In progress",
    "handled": "Handled",
    "closed": "Closed",
    "evaluated": "Evaluated",
}

CATALOGUE: dict[str, dict[str, str]] = {
    "app.title": {"zh-CN": "党建电子地图", "en": "Party-building e-map"},
    "app.grid_title": {"zh-CN": "网格长工作图", "en": "Grid chief's map"},
    "app.command_title": {"zh-CN": "指挥中心", "en": "Command centre"},
    "app.name": {"zh-CN": "网格化治理", "en": "gridgov"},
    "layer.streets": {"zh-CN": "街道/乡镇", "en": "Streets"},
    "layer.communities": {"zh-CN": "社区", "en": "Communities"},
    "layer.grids": {"zh-CN": "网格", "en": "Grids"},
    "layer.buildings": {"zh-CN": "楼栋", "en": "Buildings"},
    "layer.boundaries": {"zh-CN": "区划边界", "en": "Boundaries"},
    "layer.party": {"zh-CN": "党组织", "en": "Party organisations"},
    "layer.org.street": {"zh-CN": "街道党工委", "en": "Street working committees"},
    "layer.org.community": {"zh-CN": "社区党委/党总支/党支部", "en": "Community party committees"},
    "layer.org.grid": {"zh-CN": "网格党支部", "en": "Grid party branches"},
    "layer.org.building": {"zh-CN": "楼栋党小组", "en": "Building party groups"},
    "layer.org.household": {"zh-CN": "党员中心户", "en": "Central party households"},
    "layer.services": {"zh-CN": "党群服务", "en": "Party-mass services"},
    "layer.facilities": {"zh-CN": "党群服务中心及站点", "en": "Service centres and stations"},
    "layer.circle15": {"zh-CN": "15分钟便民服务圈", "en": "15-minute service circle"},
    "layer.density": {"zh-CN": "党员密度（按网格）", "en": "Party-member density (per grid)"},
    "layer.incidents": {"zh-CN": "事件", "en": "Incidents"},
    "layer.incident_clusters": {"zh-CN": "事件点聚合", "en": "Incident clusters"},
    "layer.incident_heat": {"zh-CN": "事件热力图", "en": "Incident heat map"},
    "layer.choropleth": {"zh-CN": "专题图", "en": "Thematic map"},
    "layer.basemap": {"zh-CN": "底图", "en": "Basemap"},
    "layer.overlays": {"zh-CN": "图层", "en": "Layers"},
    "empty.title": {"zh-CN": "尚无数据", "en": "No data yet"},
    "empty.body": {
        "zh-CN": "数据库中还没有区域。运行 gridgov demo 载入示范城市。",
        "en": "The database has no areas yet. Run `gridgov demo` to load the demo city.",
    },
    "popup.code": {"zh-CN": "编码", "en": "Code"},
    "popup.name": {"zh-CN": "名称", "en": "Name"},
    "grid.not_found": {"zh-CN": "没有这个网格", "en": "No such grid"},
    "nav.city": {"zh-CN": "全市地图", "en": "City map"},
    "nav.command": {"zh-CN": "指挥中心", "en": "Command centre"},
    "nav.print": {"zh-CN": "打印", "en": "Print"},
    "viewer.public": {"zh-CN": "公众访问", "en": "Public"},
    # --- strings used by the page scripts ---
    "js.search": {"zh-CN": "搜索名称、编码、地址", "en": "Search name, code, address"},
    "js.search_none": {"zh-CN": "没有找到", "en": "Nothing found"},
    "js.panel": {"zh-CN": "详情", "en": "Details"},
    "js.close": {"zh-CN": "关闭", "en": "Close"},
    "js.loading": {"zh-CN": "加载中…", "en": "Loading…"},
    "js.unavailable": {"zh-CN": "数据服务暂不可用", "en": "Data service not available"},
    "js.click_hint": {
        "zh-CN": "点击街道、社区或网格查看统计",
        "en": "Click a street, community or grid for its statistics",
    },
    "js.open_page": {"zh-CN": "打开网格页面", "en": "Open the grid's page"},
    "js.chief": {"zh-CN": "网格长", "en": "Grid chief"},
    "js.workers": {"zh-CN": "网格员", "en": "Grid workers"},
    "js.instructor": {"zh-CN": "党建指导员", "en": "Party instructor"},
    "js.party_branch": {"zh-CN": "党组织", "en": "Party organisation"},
    "js.secretary": {"zh-CN": "书记", "en": "Secretary"},
    "js.level.street": {"zh-CN": "街道", "en": "Street"},
    "js.level.community": {"zh-CN": "社区", "en": "Community"},
    "js.level.grid": {"zh-CN": "网格", "en": "Grid"},
    "js.level.district": {"zh-CN": "区县", "en": "District"},
    "js.level.building": {"zh-CN": "楼栋", "en": "Building"},
    "js.level.household": {"zh-CN": "党员中心户", "en": "Central household"},
    "js.stat.households": {"zh-CN": "户数", "en": "Households"},
    "js.stat.residents": {"zh-CN": "人口", "en": "Residents"},
    "js.stat.party_members": {"zh-CN": "党员", "en": "Party members"},
    "js.stat.members_per_100": {"zh-CN": "每百户党员", "en": "Members per 100 households"},
    "js.stat.buildings": {"zh-CN": "楼栋", "en": "Buildings"},
    "js.stat.grids": {"zh-CN": "网格", "en": "Grids"},
    "js.stat.facilities": {"zh-CN": "服务设施", "en": "Facilities"},
    "js.stat.open_incidents": {"zh-CN": "未结事件", "en": "Open incidents"},
    "js.stat.overdue_incidents": {"zh-CN": "超期事件", "en": "Overdue incidents"},
    "js.stat.on_time_rate": {"zh-CN": "按期结案率", "en": "On-time closure rate"},
    "js.stat.closure_rate": {"zh-CN": "结案率", "en": "Closure rate"},
    "js.stat.party_orgs": {"zh-CN": "党组织", "en": "Party organisations"},
    "js.stat.density": {"zh-CN": "党员/平方公里", "en": "Members per km²"},
    "js.stat.incidents": {"zh-CN": "事件", "en": "Incidents"},
    "js.choropleth": {"zh-CN": "专题图", "en": "Thematic map"},
    "js.choropleth.none": {"zh-CN": "无", "en": "None"},
    "js.choropleth.no_data": {
        "zh-CN": "网格统计暂不可用",
        "en": "Grid statistics are not available",
    },
    "js.legend": {"zh-CN": "图例", "en": "Legend"},
    "js.filter.status": {"zh-CN": "状态", "en": "Status"},
    "js.filter.category": {"zh-CN": "类别", "en": "Category"},
    "js.filter.since": {"zh-CN": "时间", "en": "Period"},
    "js.filter.all": {"zh-CN": "全部", "en": "All"},
    "js.filter.open": {"zh-CN": "未结", "en": "Open"},
    "js.filter.closed": {"zh-CN": "已结", "en": "Closed"},
    "js.filter.overdue": {"zh-CN": "超期", "en": "Overdue"},
    "js.since.1": {"zh-CN": "近1天", "en": "Last day"},
    "js.since.7": {"zh-CN": "近7天", "en": "Last 7 days"},
    "js.since.30": {"zh-CN": "近30天", "en": "Last 30 days"},
    "js.since.365": {"zh-CN": "近一年", "en": "Last year"},
    "js.incidents_hidden": {
        "zh-CN": "事件详情仅对授权用户开放",
        "en": "Incident details are for signed-in staff",
    },
    "js.due": {"zh-CN": "期限", "en": "Due"},
    "js.reported": {"zh-CN": "上报", "en": "Reported"},
    "js.overdue": {"zh-CN": "已超期", "en": "Overdue"},
    "js.queue": {"zh-CN": "待办队列", "en": "Queue"},
    "js.kpi": {"zh-CN": "考核指标", "en": "KPIs"},
    "js.live": {"zh-CN": "实时", "en": "Live"},
    "js.offline": {"zh-CN": "连接中断，正在重连", "en": "Disconnected, reconnecting"},
    "js.new_incident": {"zh-CN": "新事件", "en": "New incident"},
    "js.buildings": {"zh-CN": "楼栋", "en": "Buildings"},
    "js.party_groups": {"zh-CN": "党小组与党员中心户", "en": "Party groups and central households"},
    "js.open_cases": {"zh-CN": "未结事件", "en": "Open incidents"},
    "js.staff": {"zh-CN": "一长两员", "en": "Grid staff"},
    "js.none": {"zh-CN": "无", "en": "None"},
    "js.facility": {"zh-CN": "服务设施", "en": "Facility"},
    "js.opening_hours": {"zh-CN": "开放时间", "en": "Opening hours"},
    "js.address": {"zh-CN": "地址", "en": "Address"},
    "error.unavailable.title": {
        "zh-CN": "服务暂时不可用",
        "en": "Service temporarily unavailable",
    },
    "error.unavailable.detail": {
        "zh-CN": "数据库暂时无法访问，您的操作未被保存。请稍后重试，本页将自动刷新。",
        "en": "The database cannot be reached right now; nothing was saved. "
        "Please retry shortly — this page reloads by itself.",
    },
    "error.unavailable.retry": {"zh-CN": "重试", "en": "Retry"},
    "js.no_stats": {
        "zh-CN": "统计服务暂不可用，仅显示边界信息",
        "en": "Statistics service not available; boundary only",
    },
}


CATALOGUE.update(
    {
        f"js.status.{status}": {"zh-CN": STATUS_LABELS_ZH[status], "en": _STATUS_EN[status]}
        for status in STATUSES
    }
)


def t(key: str, language: str = "zh-CN") -> str:
    """The text of ``key`` in ``language``, falling back to Chinese."""
    entry = CATALOGUE[key]
    return entry.get(language) or entry["zh-CN"]


def js_strings(language: str) -> dict[str, str]:
    """Every ``js.`` string in ``language``, keyed without the prefix, for the page scripts."""
    return {key[3:]: t(key, language) for key in CATALOGUE if key.startswith("js.")}
