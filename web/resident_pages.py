"""Pages of the resident case kinds (docs/residents.md), each a small shell whose data comes from
the API with the session cookie:

- ``/resident``: the resident's phone page — submit a 诉求, follow it, rate the answer;
- ``/command/petitions``: staff handle petitions beside the command centre (assign, answer,
  refuse, convert to an incident) with the statistics by subject;
- ``/mediation``: grid, community and street mediators work disputes (三级调解).

Chinese first (strings from web/i18n.py), vocabulary from gis/incidents/vocabulary.py; nothing
personal is in the HTML (the pages fetch it as the signed-in viewer).
"""

from __future__ import annotations

import json
from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from gis.incidents.vocabulary import CATEGORIES, resident_cases_for_pages
from gis.settings import get_settings
from web.i18n import js_strings, t
from web.mapkit import PageViewerDep, static_url

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}

_STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#222;
background:#f6f6f6;font-size:16px;line-height:1.5}
header{background:#b71c1c;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff} header h1{font-size:1.15rem;margin:0;flex:1}
main{max-width:60rem;margin:0 auto;padding:.8rem}
.gg-card{background:#fff;border-radius:8px;padding:.8rem 1rem;margin-bottom:.8rem;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
label{display:block;margin:.4rem 0 .15rem;color:#555;font-size:.92rem}
input,select,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.45rem;
border:1px solid #ccc;border-radius:5px}
textarea{min-height:5rem}
button{padding:.55rem .9rem;font-size:1rem;background:#b71c1c;color:#fff;border:0;
border-radius:6px;margin:.5rem .4rem 0 0;cursor:pointer}
button.gg-plain{background:#fff;color:#b71c1c;border:1px solid #b71c1c}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{border-bottom:1px solid #eee;padding:.35rem;text-align:left;vertical-align:top}
.gg-msg{padding:.5rem .8rem;border-radius:6px;margin:.5rem 0}
.gg-error{background:#fdecea;color:#8a1c13} .gg-ok{background:#e8f5e9;color:#1b5e20}
.gg-stars button{font-size:1.8rem;background:none;color:#ccc;padding:0 .15rem;margin:0}
.gg-stars button.on{color:#f5a623}
.gg-badge{display:inline-block;padding:0 .4rem;border-radius:4px;background:#eee;font-size:.85rem}
.gg-late{background:#fdecea;color:#8a1c13}
ol{padding-left:1.2rem;margin:.3rem 0} .gg-muted{color:#777;font-size:.88rem}
@media (max-width:640px){main{padding:.5rem} table{font-size:.85rem}}
"""


def _shell(
    title_key: str, script: str, data: dict[str, object], back: str | None, more: str = ""
) -> str:
    lang = get_settings().language
    strings = {k: v for k, v in js_strings(lang).items() if k.startswith("res.")}
    payload = json.dumps({"strings": strings, "lang": lang, **data}, ensure_ascii=False)
    # The JSON sits in a script element: "</" must not end it early.
    payload = payload.replace("</", "<\\/")
    title = escape(t(f"js.res.{title_key}", lang))
    link = f'<a href="{escape(back)}">←</a>' if back else ""
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{static_url("gridgov/favicon.svg")}">
<style>{_STYLE}</style></head><body>
<header>{link}<h1>{title}</h1>{more}</header>
<main id="gg-main"></main>
<script type="application/json" id="gg-data">{payload}</script>
<script src="{static_url("gridgov/residentcases.js")}"></script>
<script>GGResidentCases.{script}();</script>
</body></html>"""


def _viewer_data(viewer: PageViewerDep) -> dict[str, object]:
    return {
        "viewer": {
            "signedIn": viewer.username is not None and not viewer.is_public,
            "role": viewer.role,
            "resident": viewer.is_resident,
        },
        "vocabulary": resident_cases_for_pages(),
    }


@router.get("/resident", response_class=HTMLResponse)
def resident_page(viewer: PageViewerDep) -> HTMLResponse:
    """The resident's phone page: submit a 诉求, follow it, rate the answer."""
    more = ""
    if viewer.is_resident:  # his notices, services and points are one tap away
        label = escape(t("res.my_title", get_settings().language))
        more = f' <a id="gg-my-services" href="/resident/services">{label}</a>'
    html = _shell("resident_title", "residentPage", _viewer_data(viewer), None, more)
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/command/petitions", response_class=HTMLResponse)
def petitions_page(viewer: PageViewerDep) -> HTMLResponse:
    """Staff handle petitions beside the command centre."""
    data = _viewer_data(viewer)
    data["categories"] = [c for cats in CATEGORIES.values() for c in cats]
    html = _shell("petitions_title", "petitionsPage", data, "/command")
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/mediation", response_class=HTMLResponse)
def mediation_page(viewer: PageViewerDep) -> HTMLResponse:
    """Grid, community and street mediators work disputes (三级调解)."""
    data = _viewer_data(viewer)
    data["scope"] = viewer.scope_code
    html = _shell("mediation_title", "mediationPage", data, "/")
    return HTMLResponse(html, headers=NO_STORE)
