"""``/party/dual``: 双报到 — the community secretary's and the member's page.

A page shell behind sign-in (Chinese first, strings from web/i18n.py; vocabulary from
gis/dual/vocabulary.py through the page's data block). The script (web/static/gridgov/dual.js)
works through the API with the session cookie: the community's organisers publish needs and posts,
assign them to units by letter, record a unit's completion and rate finished work; a party member
claims a need and reports it done with his hours; both see the year's ranking, and the party-work
roles the community's statistics and its reported members (masked: the page states no purpose).
"""

from __future__ import annotations

import json
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gis.dual import vocabulary
from gis.dual.statistics import PARTY_WORK_ROLES
from gis.incidents.workflow import ORDER_ORGANISER_ROLES
from gis.orglife.meetings import local_today
from gis.scope import Viewer
from web.i18n import CATALOGUE, t
from web.mapkit import PageViewerDep, static_url
from web.role_page import role_page

router = APIRouter(include_in_schema=False)
PATH = "/party/dual"
PAGE_ROLES = PARTY_WORK_ROLES | {"party_member"}
COMMUNITY_CODE_LENGTH = 12


def page_data(viewer: Viewer, lang: str) -> dict[str, object]:
    scope = viewer.scope_code or ""
    return {
        "vocabulary": vocabulary.for_pages(),
        "year": local_today().year,
        "role": viewer.role,
        "community": scope if len(scope) == COMMUNITY_CODE_LENGTH else None,
        "organiser": viewer.role in ORDER_ORGANISER_ROLES,
        "partyWork": viewer.role in PARTY_WORK_ROLES,
        "strings": {
            key.removeprefix("dual.js."): t(key, lang)
            for key in CATALOGUE
            if key.startswith("dual.js.")
        },
    }


def dual_html(viewer: Viewer, lang: str, bell: str = "") -> str:
    def tr(key: str) -> str:
        return escape(t(f"dual.{key}", lang))

    data = json.dumps(page_data(viewer, lang), ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{tr("title")}</title>
<link rel="icon" href="{static_url("gridgov/favicon.svg")}">
<style>
body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:1.5rem;color:#222}}
h1{{color:#b71c1c;font-size:1.4rem}} h2{{font-size:1.1rem;border-bottom:2px solid #b71c1c}}
label{{display:block;margin:.4rem 0}} input,select,textarea{{padding:.3rem;font:inherit}}
textarea{{width:100%;max-width:40rem;height:4rem}}
button{{padding:.35rem .8rem;background:#b71c1c;color:#fff;border:0;border-radius:4px}}
table{{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}}
th,td{{border:1px solid #ddd;padding:.3rem .5rem;text-align:left}} th{{background:#f4f4f4}}
td input[type=number]{{width:5rem}} .gg-msg{{color:#555}} nav a{{margin-right:1rem}}
</style></head><body>
{bell}
<nav><a href="/">{escape(t("nav.city", lang))}</a>
<a href="/party/org-life">{escape(t("nav.org_life", lang))}</a></nav>
<h1>{tr("title")}</h1>
<p>{tr("intro")}</p>
<section id="gg-publish" hidden>
<h2>{tr("publish")}</h2>
<form id="gg-need-form">
<label>{tr("community")} <input name="community_code" required pattern="[0-9]{{12}}"></label>
<label>{tr("origin")} <select name="origin"></select></label>
<label>{tr("title_field")} <input name="title" required maxlength="100" size="30"></label>
<label>{tr("service_type")} <select name="service_type"></select></label>
<label>{tr("description")} <textarea name="description" required maxlength="2000"></textarea>
</label>
<button type="submit">{tr("submit")}</button>
</form>
</section>
<section id="gg-me" hidden>
<p>{tr("member_id")}<strong id="gg-member-id"></strong></p>
<p class="gg-msg">{tr("member_hint")}</p>
</section>
<p id="gg-message" class="gg-msg" role="status"></p>
<section>
<h2>{tr("needs")}</h2>
<table id="gg-needs"><thead></thead><tbody></tbody></table>
</section>
<section id="gg-statistics-section" hidden>
<h2>{tr("statistics")}</h2>
<table id="gg-statistics"><thead></thead><tbody></tbody></table>
<h2>{tr("reported")}</h2>
<table id="gg-reported"><thead></thead><tbody></tbody></table>
</section>
<section>
<h2>{tr("ranking")}</h2>
<table id="gg-ranking"><thead></thead><tbody></tbody></table>
</section>
<script type="application/json" id="gg-dual-data">{data}</script>
<script src="{static_url("gridgov/dual.js")}"></script>
</body></html>"""


@router.get(PATH, response_class=HTMLResponse)
def dual_page(request: Request, viewer: PageViewerDep) -> Response:
    """The page for 双报到 work; visitors are sent to sign in, other roles told it is not theirs."""
    return role_page(
        viewer, PATH, PAGE_ROLES, "dual", lambda lang, bell: dual_html(viewer, lang, bell)
    )
