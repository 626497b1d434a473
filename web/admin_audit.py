"""``/admin/audit``: who saw this person's data, when and why — the administrators' page.

A page shell behind admin sign-in (Chinese first, strings from web/i18n.py); its script
(web/static/gridgov/audit.js) asks ``GET /api/v1/audit/disclosures`` with the session cookie, so
the page and ``gridgov audit --subject`` read the same function (gis.audit.who_saw).
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from web.i18n import t
from web.mapkit import PageViewerDep, static_url
from web.role_page import role_page

router = APIRouter(include_in_schema=False)
COLUMNS = ("at", "who", "role", "action", "target", "purpose", "client", "rows")


def audit_page_html(lang: str, bell: str = "") -> str:
    def tr(key: str) -> str:
        return escape(t(f"audit.{key}", lang))

    headers = "".join(f"<th scope='col'>{tr(c)}</th>" for c in COLUMNS)
    messages = " ".join(
        f'data-{key}="{tr(key)}"' for key in ("none", "unknown", "failed", "matches")
    )
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{tr("title")}</title>
<link rel="icon" href="{static_url("gridgov/favicon.svg")}">
<style>
body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:1.5rem;color:#222}}
h1{{color:#b71c1c;font-size:1.4rem}} form{{margin:1rem 0}} input{{padding:.4rem;width:22rem}}
button{{padding:.45rem 1rem;background:#b71c1c;color:#fff;border:0;border-radius:4px}}
table{{border-collapse:collapse;width:100%;font-size:.9rem}}
th,td{{border:1px solid #ddd;padding:.3rem .5rem;text-align:left}} th{{background:#f4f4f4}}
.gg-msg{{color:#555}}
</style></head><body>
{bell}
<h1>{tr("title")}</h1>
<p>{tr("intro")}</p>
<form id="gg-audit-form" role="search">
<label for="gg-audit-subject">{tr("subject")}</label>
<input id="gg-audit-subject" name="subject" required minlength="3" maxlength="60"
 autocomplete="off">
<button type="submit">{tr("search")}</button>
</form>
<p id="gg-audit-message" class="gg-msg" role="status" {messages}></p>
<table id="gg-audit-table" hidden><thead><tr>{headers}</tr></thead><tbody></tbody></table>
<script src="{static_url("gridgov/audit.js")}"></script>
</body></html>"""


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, viewer: PageViewerDep) -> Response:
    """The page for admins; others are sent to sign in (or told it is not theirs)."""
    return role_page(viewer, "/admin/audit", ("admin",), "audit", audit_page_html)
