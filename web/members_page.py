"""``/party/members``: 党员管理 — the register, a member's profile, 组织关系转接; and
``/party/chain``: the chain from the street's committee down to the 党员中心户.

Page shells (Chinese first, strings from web/i18n.py, labels from gis/party/vocabulary.py through
the data block). The scripts ask ``/api/v1/party`` with the session cookie; names are masked
until the user states a purpose (it goes with the request and the read is audited).
"""

from __future__ import annotations

import json
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gis.orglife.meetings import ORG_LIFE_ROLES, local_today
from gis.party import vocabulary as v
from gis.settings import get_settings
from web.i18n import CATALOGUE, t
from web.mapkit import PageViewerDep, static_url
from web.role_page import role_page

router = APIRouter(include_in_schema=False)
PATH = "/party/members"
CHAIN_PATH = "/party/chain"
AREA_PATTERN = "[0-9]{6}([0-9]{6}([0-9]{3})?)?"

_STYLE = """<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:1.5rem;color:#222}
h1{color:#b71c1c;font-size:1.4rem} h2{font-size:1.1rem;border-bottom:2px solid #b71c1c}
label{display:inline-block;margin:.3rem .8rem .3rem 0} input,select{padding:.3rem;font:inherit}
button{padding:.4rem .9rem;background:#b71c1c;color:#fff;border:0;border-radius:4px}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left} th{background:#f4f4f4}
.gg-msg{color:#555} nav a{margin-right:1rem} ul.gg-tree{list-style:none;padding-left:1.2rem}
ul.gg-tree li{margin:.15rem 0} .gg-kind{color:#b71c1c;margin-right:.4rem}
.gg-count{color:#777;margin-left:.4rem}
</style>"""


def _strings(prefix: str, lang: str) -> dict[str, str]:
    return {k.removeprefix(prefix): t(k, lang) for k in CATALOGUE if k.startswith(prefix)}


def _data(payload: dict[str, object]) -> str:
    # JSON inside <script>: "<" escaped so no string can close the element.
    return json.dumps(payload, ensure_ascii=False).replace("<", "\\u003c")


def members_html(lang: str, bell: str = "") -> str:
    def tr(key: str) -> str:
        return escape(t(f"members.{key}", lang))

    vocab = v.for_pages()
    data = _data(
        {
            "vocabulary": vocab,
            "today": local_today().isoformat(),
            "strings": _strings("members.js.", lang),
        }
    )

    def options(pairs: dict[str, str]) -> str:
        return "".join(
            f'<option value="{escape(k)}">{escape(label)}</option>' for k, label in pairs.items()
        )

    statuses = {s: s for s in v.MEMBER_STATUSES}
    # A member's relation is here (in a 支部 of the register) or was transferred out.
    relations = options(v.RELATION_LABELS)
    directions = options({k: v.TRANSFER_DIRECTIONS[k] for k in ("within", "out")})
    any_ = f'<option value="">{tr("any")}</option>'
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{tr("title")}</title>
<link rel="icon" href="{static_url("gridgov/favicon.svg")}">
{_STYLE}</head><body>
{bell}
<nav><a href="/">{escape(t("nav.city", lang))}</a>
<a href="/party/org-life">{escape(t("nav.org_life", lang))}</a>
<a href="{CHAIN_PATH}">{tr("chain_link")}</a></nav>
<h1>{tr("title")}</h1>
<p>{tr("intro")}</p>
<form id="gg-filter">
<label>{tr("within")} <input name="within" size="16" pattern="{AREA_PATTERN}"></label>
<label>{tr("status")} <select name="status">{any_}{options(statuses)}</select></label>
<label>{tr("flag")} <select name="flag">{any_}{options(v.CARE_FLAGS)}</select></label>
<label>{tr("away")} <select name="away">{any_}
<option value="true">{tr("away")}</option></select></label>
<label>{tr("relation")} <select name="relation">{any_}{relations}</select></label>
<label>{tr("purpose")} <input name="purpose" size="14" maxlength="100"></label>
<button type="submit">{tr("search")}</button>
</form>
<p id="gg-message" class="gg-msg" role="status"></p>
<section id="gg-list"><h2>{tr("list")}</h2>
<p id="gg-total"></p>
<table id="gg-members"><thead></thead><tbody></tbody></table>
</section>
<section id="gg-profile" hidden><h2>{tr("profile")}</h2>
<dl id="gg-profile-facts"></dl>
<div id="gg-profile-history"></div>
<form id="gg-transfer-form" hidden>
<h3>{tr("transfer")}</h3>
<label>{tr("direction")} <select name="direction">{directions}</select></label>
<label>{tr("to_branch")} <input name="to_branch_code" size="18"></label>
<label>{tr("to_org")} <input name="to_org_name" size="30" maxlength="{v.ORG_NAME_MAX}"></label>
<label>{tr("reason")} <select name="reason">{options(v.TRANSFER_REASONS)}</select></label>
<label>{tr("letter")} <input name="letter_no" size="14" maxlength="{v.LETTER_NO_MAX}"></label>
<label>{tr("date")} <input type="date" name="transferred_on" required></label>
<button type="submit">{tr("submit_transfer")}</button>
</form>
<p id="gg-read-only" class="gg-msg" hidden></p>
</section>
<script type="application/json" id="gg-members-data">{data}</script>
<script src="{static_url("gridgov/members.js")}"></script>
</body></html>"""


def chain_html(lang: str) -> str:
    def tr(key: str) -> str:
        return escape(t(f"chain.{key}", lang))

    data = _data({"strings": _strings("chain.js.", lang), "levels": v.LEVEL_LABELS})
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{tr("title")}</title>
<link rel="icon" href="{static_url("gridgov/favicon.svg")}">
{_STYLE}</head><body>
<nav><a href="/">{escape(t("nav.city", lang))}</a></nav>
<h1>{tr("title")}</h1>
<p>{tr("intro")}</p>
<form id="gg-chain-form"><label>{escape(t("members.within", lang))}
<input name="within" size="16" required pattern="{AREA_PATTERN}"></label>
<button type="submit">{tr("show")}</button></form>
<p id="gg-message" class="gg-msg" role="status"></p>
<div id="gg-chain"></div>
<script type="application/json" id="gg-chain-data">{data}</script>
<script src="{static_url("gridgov/chain.js")}"></script>
</body></html>"""


@router.get(PATH, response_class=HTMLResponse)
def members_page(request: Request, viewer: PageViewerDep) -> Response:
    """The register for party work; visitors sign in first, other roles are told it is not
    theirs."""
    return role_page(viewer, PATH, ORG_LIFE_ROLES, "members", members_html)


@router.get(CHAIN_PATH, response_class=HTMLResponse)
def chain_page(request: Request) -> Response:
    """The chain page (public, like the party_orgs layer); the tree is /api/v1/party/chain."""
    return HTMLResponse(chain_html(get_settings().language))
