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
    "accepted": "Accepted",
    "registered": "Registered",
    "rejected": "Rejected",
    "dispatched": "Dispatched",
    "in_progress": "In progress",
    "handled": "Handled",
    "verified": "Verified",
    "suspended": "Suspended",
    "closed": "Closed",
    "evaluated": "Evaluated",
}

CATALOGUE: dict[str, dict[str, str]] = {
    "app.title": {"zh-CN": "党建电子地图", "en": "Party-building e-map"},
    "app.grid_title": {"zh-CN": "网格工作台", "en": "Grid workbench"},
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
    "nav.org_life": {"zh-CN": "组织生活", "en": "Party life"},
    "orglife.title": {"zh-CN": "组织生活（三会一课）", "en": "Organisational life (三会一课)"},
    "orglife.intro": {
        "zh-CN": "支部书记在此记录支部党员大会、支委会、党小组会、党课和主题党日，"
        "并登记党员出缺勤；各级书记查看本辖区各支部每季度的完成情况。",
        "en": "Branch secretaries record general meetings, committee and group meetings, party "
        "lectures and themed party days with attendance; secretaries see each quarter's "
        "completeness for their area.",
    },
    "orglife.forbidden": {
        "zh-CN": "组织生活仅限党务工作岗位查看",
        "en": "Organisational life is for party-work roles only",
    },
    "orglife.record": {"zh-CN": "记录会议", "en": "Record a meeting"},
    "orglife.branch": {"zh-CN": "党支部", "en": "Branch"},
    "orglife.kind": {"zh-CN": "会议类型", "en": "Kind"},
    "orglife.group": {"zh-CN": "党小组", "en": "Party group"},
    "orglife.held_on": {"zh-CN": "日期", "en": "Date"},
    "orglife.place": {"zh-CN": "地点", "en": "Place"},
    "orglife.topic": {"zh-CN": "主题", "en": "Topic"},
    "orglife.minutes": {"zh-CN": "会议记录", "en": "Minutes"},
    "orglife.member": {"zh-CN": "党员", "en": "Member"},
    "orglife.member_status": {"zh-CN": "类别", "en": "Status"},
    "orglife.attendance": {"zh-CN": "出缺勤", "en": "Attendance"},
    "orglife.save": {"zh-CN": "保存会议记录", "en": "Save the meeting"},
    "orglife.completeness": {"zh-CN": "季度完成情况", "en": "Quarterly completeness"},
    "orglife.quarter": {"zh-CN": "季度", "en": "Quarter"},
    "orglife.legend": {
        "zh-CN": "每格为“已开/应开”（按月或按季计）；红色为已过期未开。"
        "支部党员大会、党课每季度至少一次，支委会、党小组会、主题党日每月一次；正式党员不足7人的支部不设支委会。",
        "en": "Each cell is held / due (months or quarters); red means a period ended without "
        "one. General meetings and lectures are due quarterly, committee and group meetings "
        "and themed days monthly; a branch with fewer than 7 full members has no committee.",
    },
    "orglife.meetings": {"zh-CN": "最近会议", "en": "Recent meetings"},
    "orglife.js.saved": {"zh-CN": "会议记录已保存", "en": "The meeting was saved"},
    "orglife.js.failed": {"zh-CN": "保存失败：", "en": "Not saved: "},
    "orglife.js.load_failed": {"zh-CN": "读取失败", "en": "Loading failed"},
    "orglife.js.area": {"zh-CN": "区域", "en": "Area"},
    "orglife.js.branch": {"zh-CN": "党支部", "en": "Branch"},
    "orglife.js.branches": {"zh-CN": "支部数", "en": "Branches"},
    "orglife.js.complete_branches": {"zh-CN": "全部完成的支部", "en": "Complete branches"},
    "orglife.js.rate": {"zh-CN": "完成率", "en": "Rate"},
    "orglife.js.na": {"zh-CN": "不适用", "en": "n/a"},
    "orglife.js.none": {"zh-CN": "暂无会议记录", "en": "No meetings recorded"},
    "orglife.js.attendance_summary": {
        "zh-CN": "出席 {present}，请假 {leave}，缺席 {absent}",
        "en": "present {present}, on leave {leave}, absent {absent}",
    },
    "nav.print": {"zh-CN": "打印", "en": "Print"},
    "nav.my_grid": {"zh-CN": "我的网格", "en": "My grid"},
    "nav.my_area": {"zh-CN": "我的辖区", "en": "My area"},
    "nav.sign_in": {"zh-CN": "登录", "en": "Sign in"},
    "viewer.public": {"zh-CN": "公众访问", "en": "Public"},
    # --- the audit page /admin/audit (web/admin_audit.py) ---
    "audit.title": {"zh-CN": "个人信息查阅记录", "en": "Personal data disclosures"},
    "audit.intro": {
        "zh-CN": "输入身份证号、手机号或对象编号（如 resident:42），"
        "查看谁在何时因何查阅了此人的信息。",
        "en": "Enter an ID number, a mobile number or a subject name (e.g. resident:42) to see "
        "who saw this person's data, when and why.",
    },
    "audit.subject": {"zh-CN": "查询对象", "en": "Subject"},
    "audit.search": {"zh-CN": "查询", "en": "Search"},
    "audit.at": {"zh-CN": "时间", "en": "When"},
    "audit.who": {"zh-CN": "查阅人", "en": "Who"},
    "audit.role": {"zh-CN": "角色", "en": "Role"},
    "audit.action": {"zh-CN": "操作", "en": "Action"},
    "audit.target": {"zh-CN": "对象", "en": "What"},
    "audit.purpose": {"zh-CN": "用途", "en": "Why"},
    "audit.client": {"zh-CN": "来源地址", "en": "From"},
    "audit.rows": {"zh-CN": "条数", "en": "Rows"},
    "audit.none": {"zh-CN": "没有查阅记录", "en": "No disclosures recorded"},
    "audit.unknown": {"zh-CN": "没有找到此人", "en": "No such person"},
    "audit.failed": {"zh-CN": "查询失败", "en": "The search failed"},
    "audit.forbidden": {"zh-CN": "仅限系统管理员", "en": "For administrators only"},
    "audit.matches": {"zh-CN": "对应记录", "en": "Records"},
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
    # --- the command centre (/command) ---
    "js.source.grid_worker": {"zh-CN": "网格员上报", "en": "Grid worker"},
    "js.source.hotline": {"zh-CN": "12345热线", "en": "Hotline"},
    "js.source.public": {"zh-CN": "群众上报", "en": "Public"},
    "js.source.open311": {"zh-CN": "Open311", "en": "Open311"},
    "js.source.patrol": {"zh-CN": "巡查发现", "en": "Patrol"},
    "js.source.import": {"zh-CN": "批量导入", "en": "Import"},
    "js.resolution.duplicate": {"zh-CN": "重复案件", "en": "Duplicate"},
    "js.resolution.not_responsible": {"zh-CN": "非职责范围", "en": "Not our responsibility"},
    "js.resolution.invalid": {"zh-CN": "无效信息", "en": "Invalid report"},
    # The workflow's steps by action name (gis/incidents/workflow.py).
    "js.action.accept": {"zh-CN": "受理", "en": "Accept"},
    "js.action.refuse": {"zh-CN": "不予受理", "en": "Refuse the report"},
    "js.action.register": {"zh-CN": "立案", "en": "Open the case"},
    "js.action.reject": {"zh-CN": "不予立案", "en": "Refuse to open"},
    "js.action.dispatch": {"zh-CN": "派遣", "en": "Dispatch"},
    "js.action.redispatch": {"zh-CN": "改派", "en": "Re-dispatch"},
    "js.action.start": {"zh-CN": "签收处置", "en": "Take on"},
    "js.action.report_back": {"zh-CN": "处置反馈", "en": "Report back"},
    "js.action.verify": {"zh-CN": "核查通过", "en": "Verified"},
    "js.action.rework": {"zh-CN": "核查不通过，返工", "en": "Send back for rework"},
    "js.action.close": {"zh-CN": "结案", "en": "Close the case"},
    "js.action.request_extension": {"zh-CN": "延期申请", "en": "Ask for more time"},
    "js.action.approve_extension": {"zh-CN": "批准延期", "en": "Approve the extension"},
    "js.action.refuse_extension": {"zh-CN": "驳回延期", "en": "Refuse the extension"},
    "js.action.suspend": {"zh-CN": "挂起", "en": "Suspend"},
    "js.action.resume": {"zh-CN": "恢复", "en": "Resume"},
    "js.action.evaluate": {"zh-CN": "评价", "en": "Record the rating"},
    "js.queue.code": {"zh-CN": "案件编号", "en": "Case code"},
    "js.queue.sort": {"zh-CN": "排序", "en": "Sort"},
    "js.queue.sort.deadline": {"zh-CN": "按期限（超期置顶）", "en": "Deadline (overdue first)"},
    "js.queue.sort.reported": {"zh-CN": "按上报时间", "en": "Newest reports"},
    "js.queue.sort.updated": {"zh-CN": "按更新时间", "en": "Recently changed"},
    "js.queue.tray.all": {"zh-CN": "全部", "en": "All"},
    "js.queue.tray.overdue": {"zh-CN": "超期", "en": "Overdue"},
    "js.queue.tray.unassigned": {"zh-CN": "属地兜底", "en": "Outside every grid"},
    "js.queue.tray.escalated": {"zh-CN": "已升级", "en": "Escalated"},
    "js.queue.area": {"zh-CN": "区域", "en": "Area"},
    "js.queue.all_areas": {"zh-CN": "全部区域", "en": "All areas"},
    "js.queue.source": {"zh-CN": "来源", "en": "Source"},
    "js.queue.assignee": {"zh-CN": "处置人编号", "en": "Assignee id"},
    "js.queue.prev": {"zh-CN": "上一页", "en": "Previous"},
    "js.queue.next": {"zh-CN": "下一页", "en": "Next"},
    "js.queue.empty": {"zh-CN": "没有符合条件的案件", "en": "No cases match"},
    "js.queue.of": {"zh-CN": "共", "en": "of"},
    "js.queue.arrivals": {"zh-CN": "实时动态", "en": "Live arrivals"},
    "js.queue.overdue_alert": {"zh-CN": "案件超期", "en": "Case overdue"},
    "js.unit.days": {"zh-CN": "天", "en": " d "},
    "js.unit.hours": {"zh-CN": "小时", "en": " h "},
    "js.unit.minutes": {"zh-CN": "分", "en": " min"},
    "js.wall.enter": {"zh-CN": "综合展示", "en": "Wall display"},
    "js.wall.leave": {"zh-CN": "退出综合展示", "en": "Leave the wall display"},
    "js.case.back": {"zh-CN": "返回队列", "en": "Back to the queue"},
    "js.case.reporter": {"zh-CN": "上报人", "en": "Reporter"},
    "js.case.assignee": {"zh-CN": "处置人", "en": "Assignee"},
    "js.case.dispatched_to": {"zh-CN": "派遣对象", "en": "Dispatched to"},
    "js.case.source": {"zh-CN": "来源", "en": "Source"},
    "js.case.address": {"zh-CN": "地址", "en": "Address"},
    "js.case.reported": {"zh-CN": "上报时间", "en": "Reported at"},
    "js.case.area": {"zh-CN": "所属区域", "en": "Area"},
    "js.case.escalation": {"zh-CN": "督办层级", "en": "Escalation level"},
    "js.case.rework_count": {"zh-CN": "返工次数", "en": "Reworks"},
    "js.case.history": {"zh-CN": "办理过程", "en": "History"},
    "js.case.remaining": {"zh-CN": "剩余", "en": "Left"},
    "js.case.overdue_by": {"zh-CN": "已超期", "en": "Overdue by"},
    "js.case.duplicates": {
        "zh-CN": "疑似重复（50米、24小时内）",
        "en": "Possible duplicates (50 m, 24 h)",
    },
    "js.case.link_duplicate": {"zh-CN": "并为重复件", "en": "Link as duplicate"},
    "js.case.linked": {"zh-CN": "已并入的重复件", "en": "Linked duplicates"},
    "js.case.no_actions": {
        "zh-CN": "当前状态下您没有可办理的操作",
        "en": "Nothing you may do in this state",
    },
    "js.case.conflict": {"zh-CN": "操作未成功", "en": "Not done"},
    "js.case.refreshed": {"zh-CN": "已刷新为最新状态", "en": "Refreshed to the current state"},
    "js.case.stale": {
        "zh-CN": "该案件刚被他人更新，提交前请核对",
        "en": "Someone else just changed this case; check before submitting",
    },
    "js.case.done": {"zh-CN": "已办理", "en": "Done"},
    # 登记: the centre takes a report (a hotline call, a walk-in) on /command.
    "js.intake.new": {"zh-CN": "登记新案件", "en": "New case"},
    "js.intake.title": {"zh-CN": "案件登记", "en": "Register a report"},
    "js.intake.description": {"zh-CN": "问题描述", "en": "What is wrong"},
    "js.intake.reporter_name": {
        "zh-CN": "反映人姓名（可不填）",
        "en": "Reporter's name (optional)",
    },
    "js.intake.reporter_phone": {
        "zh-CN": "联系电话（可不填）",
        "en": "Reporter's phone (optional)",
    },
    "js.intake.tap": {"zh-CN": "在地图上点选位置", "en": "Pick the place on the map"},
    "js.intake.tap_hint": {
        "zh-CN": "请在地图上点击问题所在位置",
        "en": "Click where the problem is",
    },
    "js.intake.no_point": {"zh-CN": "尚未选择位置", "en": "No place chosen yet"},
    "js.intake.submit": {"zh-CN": "登记", "en": "Register"},
    "js.intake.done": {"zh-CN": "已登记", "en": "Registered"},
    "js.case.outside_grid": {"zh-CN": "网格外（属地兜底）", "en": "Outside every grid"},
    "js.case.photo": {"zh-CN": "照片", "en": "Photo"},
    "js.photo.add": {"zh-CN": "添加照片（拍照或相册）", "en": "Add photos (camera or gallery)"},
    "js.photo.uploading": {"zh-CN": "正在上传照片…", "en": "Uploading photos…"},
    "js.photo.failed": {"zh-CN": "照片未上传", "en": "Photo not uploaded"},
    "js.photo.remove": {"zh-CN": "移除", "en": "Remove"},
    "js.photo.open": {"zh-CN": "查看原图", "en": "Open the full photo"},
    "js.form.note": {"zh-CN": "办理意见", "en": "Note"},
    "js.form.resolution": {"zh-CN": "不予受理/立案理由", "en": "Reason"},
    "js.form.reason": {"zh-CN": "理由（必填）", "en": "Reason (required)"},
    "js.form.area_office": {"zh-CN": "或派遣到社区/街道", "en": "Or to a community or street"},
    "js.form.no_area_office": {"zh-CN": "（不选）", "en": "(none)"},
    "js.form.due_at": {"zh-CN": "处置期限", "en": "Handling deadline"},
    "js.form.extension_due": {"zh-CN": "申请延期至", "en": "Extend the deadline to"},
    "js.case.suspended_since": {
        "zh-CN": "挂起中，计时暂停，自",
        "en": "Suspended (clock paused) since",
    },
    "js.case.extension_pending": {
        "zh-CN": "延期申请待审批",
        "en": "Extension waiting for a decision",
    },
    "js.case.verified_by": {"zh-CN": "核查单位", "en": "Verified by"},
    "js.verifier.community": {"zh-CN": "社区", "en": "The community"},
    "js.verifier.centre": {"zh-CN": "指挥中心", "en": "The command centre"},
    "js.form.duplicate_of": {"zh-CN": "重复于", "en": "Duplicate of"},
    "js.form.grid": {"zh-CN": "派遣到网格（15位编码）", "en": "To grid (15-digit code)"},
    "js.form.department": {"zh-CN": "职能部门（可选）", "en": "Department (optional)"},
    "js.form.deadline_note": {
        "zh-CN": "默认为该类别时限规则的期限，只可缩短",
        "en": "Defaults to the category's limit; it may only be shortened",
    },
    "js.form.attachments": {"zh-CN": "照片链接（每行一个）", "en": "Photo links (one a line)"},
    "js.form.rating": {"zh-CN": "评分（1–5）", "en": "Rating (1–5)"},
    "js.form.submit": {"zh-CN": "提交", "en": "Submit"},
    "js.form.cancel": {"zh-CN": "取消", "en": "Cancel"},
    "js.kpi.area": {"zh-CN": "区域", "en": "Area"},
    "js.kpi.period": {"zh-CN": "时段", "en": "Period"},
    "js.kpi.reported": {"zh-CN": "上报", "en": "Reported"},
    "js.kpi.registered": {"zh-CN": "立案", "en": "Registered"},
    "js.kpi.closed": {"zh-CN": "结案", "en": "Closed"},
    "js.kpi.rework_rate": {"zh-CN": "返工率", "en": "Rework rate"},
    "js.kpi.avg_handling_hours": {"zh-CN": "平均处置时长（小时）", "en": "Average handling (h)"},
    "js.kpi.overdue": {"zh-CN": "超期", "en": "Overdue"},
    "js.kpi.trend": {"zh-CN": "趋势", "en": "Trend"},
    "js.kpi.by_category": {"zh-CN": "按类别", "en": "By category"},
    "js.kpi.by_source": {"zh-CN": "按来源", "en": "By source"},
    "js.since.90": {"zh-CN": "近90天", "en": "Last 90 days"},
    # The notification bell of every page (web/bell.py, web/static/gridgov/bell.js).
    "bell.title": {"zh-CN": "通知", "en": "Notifications"},
    "bell.unread": {"zh-CN": "条未读", "en": "unread"},
    "bell.mark_all": {"zh-CN": "全部已读", "en": "Mark all read"},
    "bell.empty": {"zh-CN": "暂无通知", "en": "No notifications"},
    "bell.failed": {
        "zh-CN": "通知加载失败，稍后重试",
        "en": "Could not load notifications; retrying",
    },
    "bell.mark_read": {"zh-CN": "标为已读", "en": "Mark read"},
    "bell.new": {"zh-CN": "新通知", "en": "New notification"},
    # The grid workbench (web/grid_page.py, grid.js).
    "grid.purpose.visit": {"zh-CN": "入户走访", "en": "Household visit"},
    "grid.purpose.case": {"zh-CN": "事件处置", "en": "Handling a case"},
    "grid.purpose.care": {"zh-CN": "关爱帮扶", "en": "Care for a special group"},
    "grid.purpose.check": {"zh-CN": "人口信息核查", "en": "Checking population records"},
    "js.grid.cases": {"zh-CN": "本网格案件", "en": "This grid's cases"},
    "js.grid.report": {"zh-CN": "上报事件", "en": "Report a problem"},
    "js.grid.residents": {"zh-CN": "住户与居民", "en": "Households and residents"},
    "js.grid.mine": {"zh-CN": "我的", "en": "Mine"},
    "js.grid.feedback_note": {"zh-CN": "处置情况（内部）", "en": "What was done (internal)"},
    "js.grid.public_note": {
        "zh-CN": "对群众公开的说明（可不填，勿写个人信息）",
        "en": "Public note (optional, nothing personal)",
    },
    "js.grid.failed": {"zh-CN": "操作未成功", "en": "Not done"},
    "js.grid.use_gps": {"zh-CN": "使用我的位置", "en": "Use my position"},
    "js.grid.tap_map": {"zh-CN": "在地图上点选", "en": "Tap the map"},
    "js.grid.tap_hint": {"zh-CN": "请在地图上点击问题所在位置", "en": "Tap where the problem is"},
    "js.grid.tapped": {"zh-CN": "已选位置", "en": "Chosen point"},
    "js.grid.located": {"zh-CN": "已定位", "en": "Located"},
    "js.grid.accuracy": {"zh-CN": "精度", "en": "accuracy"},
    "js.grid.gps_failed": {
        "zh-CN": "无法获取位置，请在地图上点选",
        "en": "No position; tap the map instead",
    },
    "js.grid.no_position": {
        "zh-CN": "请先定位或在地图上点选位置",
        "en": "Locate yourself or tap the map first",
    },
    "js.grid.outside": {"zh-CN": "该位置不在本网格", "en": "outside this grid"},
    "js.grid.description": {"zh-CN": "问题描述", "en": "What is wrong"},
    "js.grid.reported_ok": {"zh-CN": "已上报", "en": "Reported"},
    "js.grid.grid_of": {"zh-CN": "所属网格", "en": "grid"},
    "js.grid.search": {"zh-CN": "搜索户号、地址或姓名", "en": "Household code, address or name"},
    "js.grid.groups": {"zh-CN": "重点人群", "en": "Special groups"},
    "js.grid.group_all": {"zh-CN": "全部人群", "en": "Everyone"},
    "js.grid.masked": {
        "zh-CN": "姓名、电话、身份证号已脱敏。",
        "en": "Names, phones and ID numbers are masked.",
    },
    "js.grid.masked_role": {
        "zh-CN": "您的角色只能查看脱敏信息。",
        "en": "Your role sees masked records only.",
    },
    "js.grid.unmask": {"zh-CN": "查看完整信息", "en": "Show full details"},
    "js.grid.remask": {"zh-CN": "恢复脱敏", "en": "Mask again"},
    "js.grid.purpose": {"zh-CN": "查看目的", "en": "Purpose"},
    "js.grid.purpose_hint": {
        "zh-CN": "完整个人信息仅限工作需要，每次查看都将记录查看人、时间和目的。",
        "en": "Full personal data is for work only; every view is logged with who, when and why.",
    },
    "js.grid.unmasked": {
        "zh-CN": "完整信息（已记录）· 目的",
        "en": "Full details (logged) · purpose",
    },
    "js.grid.people": {"zh-CN": "人", "en": "people"},
    "js.grid.more": {"zh-CN": "加载更多", "en": "Load more"},
    "js.grid.north": {"zh-CN": "北", "en": "N"},
    "js.grid.org.grid": {"zh-CN": "网格党支部", "en": "Grid party branch"},
    "js.grid.org.building": {"zh-CN": "楼栋党小组", "en": "Building party group"},
    "js.grid.org.household": {"zh-CN": "党员中心户", "en": "Central party household"},
    # --- the planner's editor /plan and history /plan/history (web/plan.py, static/plan) ---
    "plan.title": {"zh-CN": "网格边界规划", "en": "Grid boundary planning"},
    "plan.history_title": {"zh-CN": "网格调整历史", "en": "Boundary history"},
    "plan.community": {"zh-CN": "选择社区", "en": "Community"},
    "plan.choose_community": {"zh-CN": "— 选择要调整的社区 —", "en": "— choose a community —"},
    "plan.resume_mark": {"zh-CN": "（有草稿）", "en": " (draft open)"},
    "plan.no_draft": {
        "zh-CN": "在地图上点击社区，或从上方列表选择社区，开始或继续调整。",
        "en": "Click a community on the map, or choose one above, to start or resume.",
    },
    "plan.draft": {"zh-CN": "草稿", "en": "Draft"},
    "plan.steps": {"zh-CN": "步", "en": "steps"},
    "plan.status.draft": {"zh-CN": "编辑中", "en": "editing"},
    "plan.status.committed": {"zh-CN": "已提交", "en": "committed"},
    "plan.status.discarded": {"zh-CN": "已放弃", "en": "discarded"},
    "plan.mode.select": {"zh-CN": "查看", "en": "Inspect"},
    "plan.mode.split": {"zh-CN": "拆分", "en": "Split"},
    "plan.mode.merge": {"zh-CN": "合并", "en": "Merge"},
    "plan.mode.reshape": {"zh-CN": "调整共用边", "en": "Move a shared edge"},
    "plan.mode.transfer": {"zh-CN": "划转楼栋", "en": "Transfer buildings"},
    "plan.mode.create": {"zh-CN": "按楼栋新建网格", "en": "New grid from buildings"},
    "plan.hint.select": {
        "zh-CN": "点击网格查看其户数、人口、党员和党支部。",
        "en": "Click a grid to see its households, residents, party members and branch.",
    },
    "plan.hint.split": {
        "zh-CN": "在地图上逐点单击画一条穿过网格的线（从网格外画到对侧网格外），"
        "双击或点“完成”结束。画线时点击不会选中网格。",
        "en": "Click point by point to draw a line across a grid (from outside one edge to "
        "outside the opposite edge); double-click or press Finish. Clicks never select a grid "
        "while drawing.",
    },
    "plan.hint.merge": {
        "zh-CN": "依次点击两个或多个相邻网格，再点“合并所选网格”。",
        "en": "Click two or more neighbouring grids, then press Merge selected grids.",
    },
    "plan.hint.reshape": {
        "zh-CN": "拖动边界上的顶点（自动吸附）：共用这条边的两个网格一起变化。",
        "en": "Drag a boundary vertex (snapping on): both grids sharing the edge change together.",
    },
    "plan.hint.transfer": {
        "zh-CN": "点击要划转的楼栋（可多选），再点击接收的相邻网格。",
        "en": "Click the buildings to transfer (several allowed), then the neighbouring grid "
        "that receives them.",
    },
    "plan.hint.create": {
        "zh-CN": "点击要划入新网格的楼栋（可多选），设定外扩距离，再点“以所选楼栋新建网格”。"
        "新网格只占用这些楼栋所在网格的范围，不侵占相邻网格。",
        "en": "Click the buildings of the new grid (several allowed), set the margin, then press "
        "New grid from the selected buildings. It takes area only from the grids those "
        "buildings are in, never from a neighbour.",
    },
    "plan.create_selected": {
        "zh-CN": "以所选楼栋新建网格",
        "en": "New grid from the selected buildings",
    },
    "plan.buffer_m": {"zh-CN": "外扩（米）", "en": "Margin (m)"},
    "plan.undo": {"zh-CN": "撤销", "en": "Undo"},
    "plan.redo": {"zh-CN": "重做", "en": "Redo"},
    "plan.merge_selected": {"zh-CN": "合并所选网格", "en": "Merge selected grids"},
    "plan.selected": {"zh-CN": "已选", "en": "Selected"},
    "plan.grids": {"zh-CN": "网格（户数标准 300–500）", "en": "Grids (norm 300–500 households)"},
    "plan.grid": {"zh-CN": "网格", "en": "Grid"},
    "plan.households": {"zh-CN": "户数", "en": "Households"},
    "plan.residents": {"zh-CN": "人口", "en": "Residents"},
    "plan.party_members": {"zh-CN": "党员", "en": "Party members"},
    "plan.party_orgs": {"zh-CN": "党组织", "en": "Party orgs"},
    "plan.open_incidents": {"zh-CN": "未结事件", "en": "Open incidents"},
    "plan.buildings": {"zh-CN": "楼栋", "en": "Buildings"},
    "plan.branch": {"zh-CN": "网格党支部", "en": "Grid party branch"},
    "plan.blank_spot": {"zh-CN": "党建空白点", "en": "Blank spot (no branch)"},
    "plan.findings": {"zh-CN": "校验结果", "en": "Validation"},
    "plan.findings_ok": {"zh-CN": "没有错误", "en": "No errors"},
    "plan.impact": {"zh-CN": "影响预览", "en": "Impact preview"},
    "plan.before": {"zh-CN": "调整前", "en": "Before"},
    "plan.after": {"zh-CN": "调整后", "en": "After"},
    "plan.moves": {"zh-CN": "随边界迁移", "en": "What moves"},
    "plan.move.building": {"zh-CN": "楼栋", "en": "Building"},
    "plan.move.incident": {"zh-CN": "未结事件", "en": "Open incident"},
    "plan.move.party_branch": {"zh-CN": "网格党支部", "en": "Grid party branch"},
    "plan.cases_title": {"zh-CN": "受影响的未结案件", "en": "Open cases affected"},
    "plan.cases_affected": {
        "zh-CN": "{n} 件未结案件将改归其他网格（地图上紫色圆点）。",
        "en": "{n} open cases will belong to another grid (purple dots on the map).",
    },
    "plan.cases_none": {"zh-CN": "没有未结案件改变所属网格。", "en": "No open case changes grid."},
    "plan.case_moves": {"zh-CN": "{code}：{from} → {to}", "en": "{code}: {from} → {to}"},
    "plan.choices": {"zh-CN": "提交前需要决定", "en": "Decide before committing"},
    "plan.branch_goes": {"zh-CN": "党支部去向", "en": "Where the branch goes"},
    "plan.branch_to": {"zh-CN": "划入网格", "en": "Move to grid"},
    "plan.branch_merge": {"zh-CN": "并入党支部", "en": "Merge into branch"},
    "plan.grid_branch": {"zh-CN": "该网格的党支部", "en": "This grid's branch"},
    "plan.new_branch": {"zh-CN": "新建网格党支部", "en": "Create a grid party branch"},
    "plan.confirm_blank": {
        "zh-CN": "确认暂为党建空白点",
        "en": "Confirm it stays a blank spot for now",
    },
    "plan.staff_of": {"zh-CN": "一长两员", "en": "Grid staff"},
    "plan.chief": {"zh-CN": "网格长", "en": "Grid chief"},
    "plan.workers": {"zh-CN": "网格员", "en": "Grid workers"},
    "plan.instructor": {"zh-CN": "党建指导员", "en": "Party instructor"},
    "plan.vacant": {"zh-CN": "暂缺", "en": "Vacant"},
    "plan.choose": {"zh-CN": "— 请选择 —", "en": "— choose —"},
    "plan.reason": {"zh-CN": "调整原因（必填）", "en": "Reason (required)"},
    "plan.commit": {"zh-CN": "提交调整", "en": "Commit"},
    "plan.discard": {"zh-CN": "放弃草稿", "en": "Discard draft"},
    "plan.confirm_discard": {"zh-CN": "确定放弃此草稿？", "en": "Discard this draft?"},
    "plan.committed": {"zh-CN": "已提交，变更编号", "en": "Committed as changeset"},
    "plan.history": {"zh-CN": "调整历史", "en": "History"},
    "plan.revert": {"zh-CN": "撤销此次调整", "en": "Revert this changeset"},
    "plan.reverted_draft": {
        "zh-CN": "已生成撤销草稿，请核对后提交",
        "en": "A revert draft was opened; check it and commit",
    },
    "plan.revert_restores": {
        "zh-CN": "这是撤销变更 {id} 的草稿：提交后恢复原网格及其党支部、党员隶属和一长两员，"
        "无需另行选择。",
        "en": "This draft reverts changeset {id}: committing brings back the grids with their "
        "branches, members and staff; nothing to choose.",
    },
    "plan.new": {"zh-CN": "新", "en": "new"},
    "plan.reshaped": {"zh-CN": "已调整", "en": "changed"},
    "plan.unchanged": {"zh-CN": "未变", "en": "unchanged"},
    "plan.working": {"zh-CN": "处理中…", "en": "Working…"},
    "plan.failed": {"zh-CN": "操作未完成", "en": "Not done"},
    "plan.show_on_map": {"zh-CN": "在地图上查看", "en": "Show on the map"},
    "plan.err.split_none": {
        "zh-CN": "这条线没有把任何网格分成两部分。请从网格一侧的边界外开始，穿过网格，"
        "画到对侧边界外再结束。",
        "en": "The line divides no grid. Start outside one edge of the grid, cross it and end "
        "outside the opposite edge.",
    },
    "plan.err.split_many": {
        "zh-CN": "这条线同时分开了网格 {grids}。一次只拆分一个网格：请只穿过一个网格。",
        "en": "The line divides grids {grids}. Split one grid at a time: cross only one grid.",
    },
    "plan.err.split_misses": {
        "zh-CN": "分割线没有穿过网格 {grid}：请从网格外画到对侧网格外。",
        "en": "The line does not cross grid {grid}: draw it from outside to outside.",
    },
    "plan.err.split_not_through": {
        "zh-CN": "分割线没有完整穿过网格 {grid}：请把线的两端都延长到网格边界以外。",
        "en": "The line does not cross grid {grid} from edge to edge: extend both ends past it.",
    },
    "plan.err.merge_not_adjacent": {
        "zh-CN": "网格 {grids} 不相邻（没有共用边），只能合并相邻网格。",
        "en": "Grids {grids} share no edge; only neighbouring grids can be merged.",
    },
    "plan.err.merge_needs_two": {
        "zh-CN": "请至少选择两个不同的网格再合并。",
        "en": "Select at least two different grids to merge.",
    },
    "plan.err.merge_communities": {
        "zh-CN": "不同社区的网格不能合并，请先调整社区边界。",
        "en": "Grids of different communities cannot be merged; move the community boundary first.",
    },
    "plan.err.vertex_invalid": {
        "zh-CN": "这样移动顶点会使网格 {grid} 自相交，请少移动一些。",
        "en": "Moving the vertex that far makes grid {grid} cross itself; move it less.",
    },
    "plan.err.vertex_none": {
        "zh-CN": "这里没有网格顶点，请从边界顶点开始拖动。",
        "en": "No grid vertex here; start the drag on a boundary vertex.",
    },
    "plan.err.create_no_buildings": {
        "zh-CN": "请先点击要划入新网格的楼栋。",
        "en": "Click the buildings of the new grid first.",
    },
    "plan.err.create_communities": {
        "zh-CN": "所选楼栋属于不同社区，一个网格只能在一个社区之内。",
        "en": "The buildings are in different communities; a grid lies within one community.",
    },
    "plan.err.create_empty": {
        "zh-CN": "所选楼栋所在网格内没有可划给新网格的范围。",
        "en": "The buildings' grids leave no area for a new grid.",
    },
    "plan.err.findings": {
        "zh-CN": "调整未被接受：{first}",
        "en": "Not accepted: {first}",
    },
    "plan.err.choices": {"zh-CN": "提交前还需要：", "en": "Before committing:"},
    "plan.err.branch_unplaced": {
        "zh-CN": "网格 {grid} 将被撤销，请为其党支部 {branch}（{name}）"
        "选择划入的网格或并入的党支部。",
        "en": "Grid {grid} retires: choose where its branch {branch} ({name}) goes, or merge it "
        "into another branch.",
    },
    "plan.err.branch_target": {
        "zh-CN": "党支部 {branch} 不能划入 {grid}：不是本草稿的网格。",
        "en": "Branch {branch} cannot go to {grid}: not a grid of this draft.",
    },
    "plan.err.branch_merge_target": {
        "zh-CN": "党支部 {branch} 不能并入 {into}，请选择保留的党支部。",
        "en": "Branch {branch} cannot merge into {into}; choose the branch that stays.",
    },
    "plan.err.two_branches": {
        "zh-CN": "网格 {grid} 将有两个网格党支部（{branches}）："
        "请把其中一个划到别的网格，或并入另一个。",
        "en": "Grid {grid} would have two branches ({branches}): move one elsewhere or merge one "
        "into the other.",
    },
    "plan.err.blank_unconfirmed": {
        "zh-CN": "网格 {grid} 将没有网格党支部：请新建党支部，或确认其暂为党建空白点。",
        "en": "Grid {grid} would have no party branch: create one or confirm the blank spot.",
    },
    "plan.err.chief_unchosen": {
        "zh-CN": "请为新网格 {grid} 选择网格长（或选“暂缺”）。",
        "en": "Choose the chief of new grid {grid} (or Vacant).",
    },
    "plan.err.no_person": {"zh-CN": "人员 {ids} 不存在。", "en": "No person {ids}."},
    "plan.err.choices_shape": {"zh-CN": "选择的格式不正确。", "en": "The choices are malformed."},
    "plan.err.reason": {"zh-CN": "请填写调整原因。", "en": "Say why the boundaries change."},
    "plan.err.conflict": {
        "zh-CN": "其他人已经调整了这些网格，本草稿无法提交：",
        "en": "Someone else changed these grids; this draft cannot be committed:",
    },
    "plan.finding.gap": {
        "zh-CN": "此处有约 {area} 平方米不属于任何网格的缝隙：拖动相邻边界把它闭合。",
        "en": "A gap of about {area} m² belongs to no grid here: drag the neighbouring edge to "
        "close it.",
    },
    "plan.finding.overlap": {
        "zh-CN": "网格 {grids} 在此重叠约 {area} 平方米：移动其中一条边界消除重叠。",
        "en": "Grids {grids} overlap by about {area} m² here: move one edge to remove it.",
    },
    "plan.finding.outside_community": {
        "zh-CN": "网格 {grids} 超出社区边界约 {area} 平方米：把边界收回社区内。",
        "en": "Grid {grids} leaves its community by about {area} m²: pull the edge back inside.",
    },
    "plan.finding.mismatched_edge": {
        "zh-CN": "网格 {grids} 的这条边与相邻网格没有完全重合：用“调整共用边”吸附到相邻边。",
        "en": "This edge of grid {grids} does not meet its neighbour's: snap it with Move a "
        "shared edge.",
    },
    "plan.finding.multipart": {
        "zh-CN": "网格 {grids} 被分成了几块不相连的部分：每个网格必须是一整块。",
        "en": "Grid {grids} is in several separate pieces: a grid must be one piece.",
    },
    "plan.finding.building_cut": {
        "zh-CN": "楼栋 {subject} 被网格 {grids} 的边界切开：把线画在楼栋之间，或把楼栋整体划转。",
        "en": "Building {subject} is cut by the edge of grids {grids}: draw between buildings or "
        "transfer it whole.",
    },
    "plan.finding.household_count": {
        "zh-CN": "网格 {grids} 将有 {value} 户，超出 300–500 户的常规范围。",
        "en": "Grid {grids} would have {value} households, outside the usual 300–500.",
    },
    "plan.finding.compactness": {
        "zh-CN": "网格 {grids} 紧凑度 {value}（越接近 1 越规整）。",
        "en": "Grid {grids}: compactness {value} (closer to 1 is more regular).",
    },
    "plan.finding.absorbed": {
        "zh-CN": "网格 {grids} 中，第一个不在导入文件里却被文件中的网格覆盖：导入从不撤销网格，"
        "请在规划编辑中合并或拆分（安排其党支部与人员）后再导入。",
        "en": "Grid {grids}: the first is not in the file but the file's grids cover it; an "
        "import never retires a grid — merge or split it in the editor (placing its branch and "
        "staff), then import.",
    },
    "plan.notice.branch_unplaced": {
        "zh-CN": "网格 {grid} 的党支部 {branch} 尚未确定去向。",
        "en": "Branch {branch} of grid {grid} has no destination yet.",
    },
    "plan.notice.blank_spot": {
        "zh-CN": "网格 {grid} 目前没有网格党支部（党建空白点）。",
        "en": "Grid {grid} has no party branch yet (a blank spot).",
    },
    "plan.timeline": {"zh-CN": "调整记录", "en": "Changesets"},
    "plan.who": {"zh-CN": "提交人", "en": "Who"},
    "plan.when": {"zh-CN": "时间", "en": "When"},
    "plan.why": {"zh-CN": "原因", "en": "Why"},
    "plan.as_of": {"zh-CN": "查看某一时刻的网格", "en": "Grids as of"},
    "plan.as_of_now": {"zh-CN": "当前", "en": "now"},
    "plan.export_asof": {
        "zh-CN": "导出此时刻的网格（GeoPackage）",
        "en": "Export the grids of this moment (GeoPackage)",
    },
    "plan.lineage": {"zh-CN": "网格沿革", "en": "Lineage"},
    "plan.export_gpkg": {"zh-CN": "导出 GeoPackage", "en": "Export GeoPackage"},
    "plan.kind.split": {"zh-CN": "拆分", "en": "split"},
    "plan.kind.merge": {"zh-CN": "合并", "en": "merge"},
    "plan.kind.reshape": {"zh-CN": "调整", "en": "reshape"},
    "plan.kind.transfer": {"zh-CN": "划转", "en": "transfer"},
    "plan.open_editor": {"zh-CN": "返回规划编辑", "en": "Back to the editor"},
    "plan.sign_in": {"zh-CN": "请以规划人员身份登录。", "en": "Sign in as a planner."},
}


CATALOGUE.update(
    {
        f"js.status.{status}": {"zh-CN": STATUS_LABELS_ZH[status], "en": _STATUS_EN[status]}
        for status in STATUSES
    }
)

# The reporter's rating page /rate/{credential} (web/rating_page.py).
CATALOGUE.update(
    {
        "rate.title": {"zh-CN": "案件进度与评价", "en": "Your case and its rating"},
        "rate.question": {
            "zh-CN": "您对这次办理满意吗？",
            "en": "How satisfied are you with how this was handled?",
        },
        "rate.stars": {"zh-CN": "请选择星级（1–5 星）", "en": "Choose 1 to 5 stars"},
        "rate.comment": {"zh-CN": "意见建议（选填）", "en": "Comment (optional)"},
        "rate.comment_hint": {
            "zh-CN": "说说办理的情况，不超过500字",
            "en": "Tell us how it went, up to 500 characters",
        },
        "rate.submit": {"zh-CN": "提交评价", "en": "Submit rating"},
        "rate.thanks": {"zh-CN": "感谢您的评价！", "en": "Thank you for your rating!"},
        "rate.yours": {"zh-CN": "您的评价", "en": "Your rating"},
        "rate.already": {
            "zh-CN": "该案件已评价，每件案件只能评价一次（一事一评）。",
            "en": "This case has already been rated; each case is rated once.",
        },
        "rate.not_closed": {
            "zh-CN": "案件尚未办结，结案后即可评价。",
            "en": "The case is not closed yet; you can rate it once it is closed.",
        },
        "rate.rejected": {
            "zh-CN": "该案件未予立案，无需评价。",
            "en": "This case was not taken on, so there is nothing to rate.",
        },
        "rate.choose_stars": {"zh-CN": "请先选择星级。", "en": "Please choose the stars first."},
        "rate.too_long": {
            "zh-CN": "意见建议不能超过500字。",
            "en": "The comment can have at most 500 characters.",
        },
        "rate.invalid": {
            "zh-CN": "评价链接无效。请使用上报时收到的链接。",
            "en": "This rating link is not valid. Use the link you received when reporting.",
        },
        "rate.expired": {
            "zh-CN": "评价链接已过期。",
            "en": "This rating link has expired.",
        },
        "rate.progress": {"zh-CN": "办理进度", "en": "Progress"},
        "rate.code": {"zh-CN": "案件编号", "en": "Case number"},
        "rate.category": {"zh-CN": "类别", "en": "Category"},
        "rate.status": {"zh-CN": "状态", "en": "Status"},
        "rate.reported_at": {"zh-CN": "上报时间", "en": "Reported"},
        "rate.closed_at": {"zh-CN": "结案时间", "en": "Closed"},
        "rate.address": {"zh-CN": "地址", "en": "Address"},
    }
)


def t(key: str, language: str = "zh-CN") -> str:
    """The text of ``key`` in ``language``, falling back to Chinese."""
    entry = CATALOGUE[key]
    return entry.get(language) or entry["zh-CN"]


def js_strings(language: str) -> dict[str, str]:
    """Every ``js.`` string in ``language``, keyed without the prefix, for the page scripts."""
    return {key[3:]: t(key, language) for key in CATALOGUE if key.startswith("js.")}
