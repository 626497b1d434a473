"""``/party/org-life``: 组织生活 — record 三会一课 with attendance, see quarterly completeness.

A page shell behind sign-in (Chinese first, strings from web/i18n.py). The meeting kinds, their
frequency rules and the attendance marks come from gis/orglife/rules.py through the page's data
block; the script (web/static/gridgov/orglife.js) asks ``/api/v1/org-life`` with the session
cookie for branches, members (stating a purpose, so the read is audited), meetings and
completeness, and records a meeting with an Idempotency-Key. A branch secretary sees the form
for his branch; community and street secretaries see their area's completeness and meetings.
"""

from __future__ import annotations

import json
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gis.orglife import rules
from gis.orglife.meetings import ORG_LIFE_ROLES, local_today
from web.i18n import CATALOGUE, t
from web.mapkit import PageViewerDep, static_url
from web.role_page import role_page

router = APIRouter(include_in_schema=False)
PATH = "/party/org-life"
# The purpose the page states when it reads members' names for marking attendance.
ATTENDANCE_PURPOSE = "三会一课考勤"
QUARTERS_SHOWN = 4


def page_data(lang: str) -> dict[str, object]:
    """What the script needs from the server: the rules, the quarters, its strings."""
    quarter = rules.Quarter.of(local_today())
    quarters = [quarter]
    for _ in range(QUARTERS_SHOWN - 1):
        quarters.append(quarters[-1].previous())
    return {
        "rules": rules.for_pages(lang),
        "quarters": [str(q) for q in quarters],
        "purpose": ATTENDANCE_PURPOSE,
        "today": local_today().isoformat(),
        "strings": {
            key.removeprefix("orglife.js."): t(key, lang)
            for key in CATALOGUE
            if key.startswith("orglife.js.")
        },
    }


def org_life_html(lang: str, bell: str = "") -> str:
    def tr(key: str) -> str:
        return escape(t(f"orglife.{key}", lang))

    # JSON inside <script>: "<" escaped so no string can close the element.
    data = json.dumps(page_data(lang), ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{tr("title")}</title>
<link rel="icon" href="{static_url("gridgov/favicon.svg")}">
<style>
body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:1.5rem;color:#222}}
h1{{color:#b71c1c;font-size:1.4rem}} h2{{font-size:1.1rem;border-bottom:2px solid #b71c1c}}
label{{display:block;margin:.4rem 0}} input,select,textarea{{padding:.3rem;font:inherit}}
textarea{{width:100%;max-width:40rem;height:5rem}}
button{{padding:.45rem 1rem;background:#b71c1c;color:#fff;border:0;border-radius:4px}}
table{{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}}
th,td{{border:1px solid #ddd;padding:.3rem .5rem;text-align:left}} th{{background:#f4f4f4}}
td.gg-missed{{background:#fdecea;color:#b71c1c}} td.gg-met{{color:#1b5e20}}
td.gg-na{{color:#999}} .gg-msg{{color:#555}} nav a{{margin-right:1rem}}
</style></head><body>
{bell}
<nav><a href="/">{escape(t("nav.city", lang))}</a></nav>
<h1>{tr("title")}</h1>
<p>{tr("intro")}</p>
<section id="gg-record" hidden>
<h2>{tr("record")}</h2>
<form id="gg-meeting-form">
<label>{tr("branch")} <select name="branch_code" required></select></label>
<label>{tr("kind")} <select name="kind" required></select></label>
<label id="gg-group-label" hidden>{tr("group")} <select name="group_code"></select></label>
<label>{tr("held_on")} <input type="date" name="held_on" required></label>
<label>{tr("place")} <input name="place" required maxlength="{rules.PLACE_MAX}"></label>
<label>{tr("topic")} <input name="topic" required maxlength="{rules.TOPIC_MAX}" size="40"></label>
<label>{tr("minutes")} <textarea name="minutes" maxlength="{rules.MINUTES_MAX}"></textarea></label>
<table id="gg-attendance"><thead><tr><th scope="col">{tr("member")}</th>
<th scope="col">{tr("member_status")}</th><th scope="col">{tr("attendance")}</th></tr></thead>
<tbody></tbody></table>
<button type="submit">{tr("save")}</button>
</form>
</section>
<p id="gg-message" class="gg-msg" role="status"></p>
<section id="gg-completeness">
<h2>{tr("completeness")}</h2>
<label>{tr("quarter")} <select id="gg-quarter"></select></label>
<p>{tr("legend")}</p>
<table id="gg-areas"><thead></thead><tbody></tbody></table>
<table id="gg-branches"><thead></thead><tbody></tbody></table>
</section>
<section id="gg-meetings">
<h2>{tr("meetings")}</h2>
<table id="gg-meeting-list"><thead><tr><th scope="col">{tr("held_on")}</th>
<th scope="col">{tr("kind")}</th><th scope="col">{tr("branch")}</th>
<th scope="col">{tr("topic")}</th><th scope="col">{tr("attendance")}</th></tr></thead>
<tbody></tbody></table>
</section>
<script type="application/json" id="gg-orglife-data">{data}</script>
<script src="{static_url("gridgov/orglife.js")}"></script>
</body></html>"""


@router.get(PATH, response_class=HTMLResponse)
def org_life_page(request: Request, viewer: PageViewerDep) -> Response:
    """The page for party work; visitors are sent to sign in, other roles told it is not theirs."""
    return role_page(viewer, PATH, ORG_LIFE_ROLES, "orglife", org_life_html)
