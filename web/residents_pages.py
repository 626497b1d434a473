"""Pages for serving residents, Chinese first (strings from web/i18n.py, ``res.*``).

- ``/communities/{code}/notice-board``: a community's public notice board for a phone — live
  notices, coming volunteer activities, the rewards points buy and the volunteer ranking (names
  masked).
- ``/r/{credential}``: the resident's own page, opened from the signed link staff gave him
  (gis/residents/links.py): his notices with 确认已读, services to apply for and his applications
  with their steps and deadlines, volunteer activities to sign up and check in to, and his
  points with rewards to redeem.
- ``/residents``: the staff desk 居民服务 behind sign-in: publish and withdraw notices with read
  counts, handle applications, organise and complete activities, and the care list of
  special-group households overdue for a visit.

The pages are rendered by the server from the same functions as the API (gis/residents/); their
buttons are small forms that web/static/gridgov/residents.js sends as JSON to ``/api/v1`` (the
resident's through his link, staff's with the session cookie) before reloading the page.
"""

from __future__ import annotations

import datetime
from html import escape
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis.errors import Forbidden, NotFound
from gis.orglife.meetings import local_today
from gis.residents import access, care, links, notices, portal, services, vocabulary, volunteers
from gis.scope import Viewer
from gis.settings import get_settings
from web.bell import bell_html
from web.i18n import t
from web.mapkit import PageViewerDep, SessionDep, static_url

router = APIRouter(include_in_schema=False)
STAFF_PATH = "/residents"
NO_STORE = {"Cache-Control": "no-store"}
API = "/api/v1"

_STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#222;
background:#f6f6f6;font-size:16px;line-height:1.5}
main{max-width:60rem;margin:0 auto;padding:1rem}
main.gg-phone{max-width:34rem}
h1{color:#b71c1c;font-size:1.3rem;margin:.2rem 0 .6rem} h2{font-size:1.1rem;margin:.2rem 0 .5rem;
border-bottom:2px solid #b71c1c}
.gg-card{background:#fff;border-radius:8px;padding:.8rem 1rem;margin-bottom:1rem;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
.gg-item{border-bottom:1px solid #eee;padding:.5rem 0} .gg-item:last-child{border:0}
.gg-meta{color:#666;font-size:.9rem} .gg-tag{display:inline-block;background:#fdecea;
color:#b71c1c;border-radius:3px;padding:0 .4rem;font-size:.85rem;margin-right:.3rem}
.gg-ok{color:#1b5e20} .gg-bad{color:#b71c1c;font-weight:bold}
form.gg-inline{display:inline-block;margin:.2rem .3rem .2rem 0}
label{display:block;margin:.3rem 0} input,select,textarea{font:inherit;padding:.35rem;
max-width:100%;box-sizing:border-box} textarea{width:100%;min-height:4rem}
button{padding:.45rem .9rem;background:#b71c1c;color:#fff;border:0;border-radius:5px;font:inherit}
button:disabled{background:#bbb}
table{border-collapse:collapse;width:100%;font-size:.9rem} th,td{border-bottom:1px solid #eee;
padding:.3rem .4rem;text-align:left;vertical-align:top} th{background:#f4f4f4}
#gg-message{padding:.5rem 1rem;border-radius:6px;background:#fdecea;color:#8a1c13}
#gg-message:empty{display:none} .gg-big{font-size:1.8rem;color:#b71c1c;font-weight:bold}
nav a{margin-right:1rem}
"""


def _lang() -> str:
    return get_settings().language


def _tr(key: str, lang: str) -> str:
    return escape(t(f"res.{key}", lang))


def _when(value: str | None) -> str:
    # ISO 8601 cut to the minute, in the city's time: the page is for a person.
    if not value:
        return ""
    at = datetime.datetime.fromisoformat(value)
    if at.tzinfo is not None:
        from zoneinfo import ZoneInfo

        at = at.astimezone(ZoneInfo(get_settings().timezone))
    return escape(at.strftime("%Y-%m-%d %H:%M"))


def _page(lang: str, title: str, body: str, *, phone: bool, bell: str = "") -> str:
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<link rel="icon" href="{static_url("gridgov/favicon.svg")}">
<style>{_STYLE}</style></head><body>{bell}<main class="{"gg-phone" if phone else ""}">
<h1>{title}</h1>
<p id="gg-message" role="status"></p>
{body}
</main><script src="{static_url("gridgov/residents.js")}"></script></body></html>"""


def _form(
    action: str, button: str, fields: str = "", *, inline: bool = True, extra: str = ""
) -> str:
    """A small form the script posts as JSON to ``action`` (an /api/v1 path)."""
    cls = "gg-inline" if inline else "gg-card"
    return (
        f'<form class="{cls}" data-post="{escape(action)}"{extra}>{fields}'
        f'<button type="submit">{escape(button)}</button></form>'
    )


# --- the public notice board --------------------------------------------------------------------


@router.get("/communities/{code}/notice-board", response_class=HTMLResponse)
def notice_board_page(
    session: SessionDep, viewer: PageViewerDep, code: Annotated[str, Path(pattern=r"^[0-9]{12}$")]
) -> Response:
    lang = _lang()
    try:
        board = notices.board(session, code, today=local_today(), lang=lang)
    except NotFound:
        return HTMLResponse(
            _page(lang, _tr("board_title", lang), f"<p>{_tr('board_empty', lang)}</p>", phone=True),
            status_code=404,
        )
    items = (
        "".join(
            f'<div class="gg-item gg-notice" data-id="{n["id"]}"><span class="gg-tag">'
            f"{escape(n['category_label'])}</span><strong>{escape(n['title'])}</strong>"
            f'<div class="gg-meta">{_when(n["published_at"])}</div><p>{escape(n["body"])}</p></div>'
            for n in board["items"]
        )
        or f"<p>{_tr('board_empty', lang)}</p>"
    )
    now = datetime.datetime.now(datetime.UTC)
    activities = [
        a
        for a in volunteers.list_activities(session, viewer, within=code, status="open")["items"]
        if datetime.datetime.fromisoformat(a["ends_at"]) >= now
    ]
    acts = "".join(
        f'<div class="gg-item"><strong>{escape(a["title"])}</strong><div class="gg-meta">'
        f"{_when(a['starts_at'])} · {escape(a['place'])} · {a['hours']:g}h · {a['points']}"
        f"{_tr('points', lang)} · {a['signed_up']}/{a['capacity']}</div></div>"
        for a in activities
    )
    rewards = "".join(
        f"<tr><td>{escape(r['name'])}</td><td>{r['points']}</td></tr>"
        for r in volunteers.rewards(session, code)
    )
    ranking = volunteers.ranking(session, viewer, code, limit=10)
    ranks = "".join(
        f"<tr><td>{r['rank']}</td><td>{escape(r['name'] or '')}</td><td>{r['points']}</td>"
        f"<td>{r['hours']:g}</td></tr>"
        for r in ranking["items"]
    )
    title = f"{escape(board['community']['name'])} · {_tr('board_title', lang)}"
    body = f"""<section class="gg-card" id="gg-board"><h2>{_tr("notices", lang)}</h2>{items}
</section>
<section class="gg-card"><h2>{_tr("activities", lang)}</h2>{acts}</section>
<section class="gg-card"><h2>{_tr("ranking", lang)}</h2><table id="gg-ranking"><tr><th>#</th>
<th></th><th>{_tr("points", lang)}</th><th>{_tr("hours", lang)}</th></tr>{ranks}</table></section>
<section class="gg-card"><h2>{_tr("rewards", lang)}</h2><table>{rewards}</table></section>"""
    return HTMLResponse(
        _page(lang, title, body, phone=True), headers={"Cache-Control": "max-age=60"}
    )


# --- the resident's page ----------------------------------------------------------------------


def _resident_body(lang: str, base: str, data: dict[str, Any], intro_key: str = "my_intro") -> str:
    """The resident's page; its forms post to ``base`` (his link's routes or his account's)."""
    notice_items = []
    for n in data["notices"]:
        state = (
            f'<span class="gg-ok gg-read">✓ {_tr("read_at", lang)} {_when(n["read_at"])}</span>'
            if n["read_at"]
            else _form(f"{base}/notices/{n['id']}/read", t("res.confirm_read", lang))
        )
        notice_items.append(
            f'<div class="gg-item gg-notice" data-id="{n["id"]}"><span class="gg-tag">'
            f"{escape(n['category_label'])}</span><strong>{escape(n['title'])}</strong>"
            f'<div class="gg-meta">{_when(n["published_at"])}</div><p>{escape(n["body"])}</p>'
            f"{state}</div>"
        )
    options = "".join(
        f'<option value="{escape(s["code"])}">{escape(s["name"])} — {_tr("materials", lang)}：'
        f"{escape('、'.join(s['materials']))}（{s['working_days']}{_tr('wd', lang)}）"
        "</option>"
        for s in data["services"]
    )
    apply = _form(
        f"{base}/applications",
        t("res.apply", lang),
        f'<label>{_tr("service", lang)} <select name="service_code" required>{options}</select>'
        f'</label><label>{_tr("note", lang)} <textarea name="note" maxlength="1000"></textarea>'
        "</label>",
        inline=False,
        extra=' id="gg-apply"',
    )
    apps = "".join(
        f'<div class="gg-item gg-application" data-id="{a["id"]}" data-status="{a["status"]}">'
        f'<strong>{escape(a["service_name"])}</strong> <span class="gg-tag">'
        f'{escape(a["status_label"])}</span><div class="gg-meta">{_tr("due", lang)} '
        f"{_when(a['due_at'])}</div><ol>"
        + "".join(
            f"<li>{_when(s['at'])} {escape(s['status_label'])}"
            f"{' — ' + escape(s['note']) if s['note'] else ''}</li>"
            for s in a["steps"]
        )
        + "</ol></div>"
        for a in data["applications"]
    )
    acts = []
    for a in data["activities"]:
        if a["checked_in_at"]:
            action = f'<span class="gg-ok gg-checked">✓ {_tr("checked_in", lang)}</span>'
        elif a["signed_up_at"]:
            action = f'<span class="gg-ok">{_tr("signed_up", lang)}</span> ' + _form(
                f"{base}/activities/{a['id']}/checkin",
                t("res.check_in", lang),
                f'<input name="code" inputmode="numeric" pattern="[0-9]{{6}}" size="7" required '
                f'placeholder="{_tr("checkin_code", lang)}"'
                f' aria-label="{_tr("checkin_code", lang)}">',
                extra=' class="gg-checkin"',
            )
        elif a["status"] == "open":
            action = _form(f"{base}/activities/{a['id']}/signup", t("res.sign_up", lang))
        else:
            action = ""
        acts.append(
            f'<div class="gg-item gg-activity" data-id="{a["id"]}"><strong>{escape(a["title"])}'
            f'</strong> <span class="gg-tag">{escape(a["status_label"])}</span>'
            f'<div class="gg-meta">{_when(a["starts_at"])}–{_when(a["ends_at"])[-5:]} · '
            f"{escape(a['place'])} · {a['hours']:g}h · {a['points']}{_tr('points', lang)} · "
            f"{a['signed_up']}/{a['capacity']}</div>{action}</div>"
        )
    points = data["points"]
    ledger = "".join(
        f"<tr><td>{_when(e['at'])}</td><td>{escape(e['kind_label'])} {escape(e['note'])}</td>"
        f"<td>{e['delta']:+d}</td><td>{e['balance_after']}</td></tr>"
        for e in points["ledger"]
    )
    rewards = "".join(
        f'<tr class="gg-reward" data-id="{r["id"]}"><td>{escape(r["name"])}</td>'
        f"<td>{r['points']}</td><td>{'' if r['stock'] is None else r['stock']}</td><td>"
        + (
            _form(
                f"{base}/redemptions",
                t("res.redeem", lang),
                f'<input type="hidden" name="reward_id" value="{r["id"]}" data-type="int">',
            )
            if points["balance"] >= r["points"] and r["stock"] != 0
            else ""
        )
        + "</td></tr>"
        for r in data["rewards"]
    )
    who = data["resident"]
    return f"""<p class="gg-meta">{escape(who["name"] or "")} · {escape(who["community_code"])}
 — {_tr(intro_key, lang)}</p>
<section class="gg-card" id="gg-notices"><h2>{_tr("notices", lang)}</h2>
{"".join(notice_items) or _tr("board_empty", lang)}</section>
<section class="gg-card" id="gg-services"><h2>{_tr("services", lang)}</h2>{apply}
<h3>{_tr("my_applications", lang)}</h3>{apps}</section>
<section class="gg-card" id="gg-activities"><h2>{_tr("activities", lang)}</h2>{"".join(acts)}
</section>
<section class="gg-card" id="gg-points"><h2>{_tr("balance", lang)}</h2>
<p><span class="gg-big" id="gg-balance">{points["balance"]}</span> {_tr("points", lang)} ·
{_tr("hours", lang)} {points["hours"]:g}</p>
<h3>{_tr("rewards", lang)}</h3><table id="gg-rewards"><tr><th></th><th>{_tr("points", lang)}</th>
<th>{_tr("stock", lang)}</th><th></th></tr>{rewards}</table>
<h3>{_tr("ledger", lang)}</h3><table id="gg-ledger">{ledger}</table></section>"""


@router.get("/r/{credential}", response_class=HTMLResponse)
def resident_page(session: SessionDep, credential: Annotated[str, Path(max_length=80)]) -> Response:
    """The resident's page; a link that is not valid (or expired) says so, nothing more."""
    lang = _lang()
    title = _tr("my_title", lang)
    try:
        actor = links.resolve(session, credential)
    except (NotFound, Forbidden) as exc:
        status = 404 if isinstance(exc, NotFound) else 403
        return HTMLResponse(
            _page(lang, title, f"<p>{escape(str(exc))}</p>", phone=True),
            status_code=status,
            headers=NO_STORE,
        )
    base = f"{API}/resident-link/{quote(credential, safe='.')}"
    body = _resident_body(lang, base, portal.summary(session, actor, lang))
    return HTMLResponse(_page(lang, title, body, phone=True), headers=NO_STORE)


SELF_PATH = "/resident/services"


@router.get(SELF_PATH, response_class=HTMLResponse)
def resident_self_page(session: SessionDep, viewer: PageViewerDep) -> Response:
    """The same page for a signed-in resident's own account (notices with read receipts,
    services, volunteering, points); visitors are sent to sign in."""
    lang = _lang()
    if viewer.is_public:
        return RedirectResponse(f"/login?next={quote(SELF_PATH, safe='')}", status_code=303)
    title = _tr("my_title", lang)
    try:
        actor = access.actor_for_account(session, viewer)
    except Forbidden as exc:
        return HTMLResponse(
            _page(lang, title, f"<p>{escape(str(exc))}</p>", phone=True),
            status_code=403,
            headers=NO_STORE,
        )
    summary = portal.summary(session, actor, lang)
    body = _resident_body(lang, f"{API}/resident-self", summary, "my_intro_account")
    return HTMLResponse(
        _page(lang, title, body, phone=True, bell=bell_html(viewer, lang)), headers=NO_STORE
    )


# --- the staff desk ---------------------------------------------------------------------------


def _staff_body(session: Any, viewer: Viewer, lang: str) -> str:
    parts = []
    scope = viewer.scope_code or ""
    if viewer.role in access.NOTICE_PUBLISHERS:
        categories = "".join(
            f'<option value="{c["key"]}">{escape(c["label"])}</option>'
            for c in vocabulary.for_pages(lang)["notice_categories"]
        )
        groups = f'<option value="">{_tr("everyone", lang)}</option>' + "".join(
            f'<option value="{g["key"]}">{escape(g["label"])}</option>'
            for g in vocabulary.for_pages(lang)["special_groups"]
        )
        area = scope if len(scope) >= 12 else ""
        parts.append(
            _form(
                f"{API}/notices",
                t("res.publish", lang),
                f"<h2>{_tr('publish', lang)}</h2>"
                f'<label>{_tr("title", lang)} <input name="title" required maxlength="100"'
                f' size="40"></label><label>{_tr("body", lang)} <textarea name="body" required'
                ' maxlength="5000">'
                f'</textarea></label><label>{_tr("category", lang)} <select name="category">'
                f"{categories}</select></label><label>{_tr('area_code', lang)} <input "
                f'name="area_code" required pattern="[0-9]{{12}}([0-9]{{3}})?" value="{area}">'
                f'</label><label>{_tr("group", lang)} <select name="special_group">{groups}'
                "</select></label>",
                inline=False,
                extra=' id="gg-publish"',
            )
        )
    listed = notices.list_notices(session, viewer, within=None, limit=30)["items"]
    rows = "".join(
        f'<tr class="gg-notice" data-id="{n["id"]}"><td>{_when(n["published_at"])}</td>'
        f"<td>{escape(n['title'])}</td><td>{escape(n['area_code'])}"
        f"{' · ' + escape(n['special_group_label']) if n['special_group_label'] else ''}</td>"
        f'<td class="gg-read-count">{n["households_read"]}/{n["households"]}</td><td>'
        + (
            "✗"
            if n["withdrawn_at"]
            else _form(f"{API}/notices/{n['id']}/withdraw", t("res.withdraw", lang))
            if viewer.role in access.NOTICE_PUBLISHERS and viewer.covers(n["area_code"])
            else ""
        )
        + "</td></tr>"
        for n in listed
    )
    parts.append(
        f'<section class="gg-card" id="gg-staff-notices"><h2>{_tr("notices", lang)}</h2><table>'
        f"<tr><th>{_tr('when', lang)}</th><th>{_tr('title', lang)}</th><th></th>"
        f"<th>{_tr('households_read', lang)}</th><th></th></tr>{rows}</table></section>"
    )
    apps = services.list_applications(session, viewer, limit=50)["items"]
    handler = viewer.role in access.SERVICE_HANDLERS

    def actions(a: dict[str, Any]) -> str:
        if not handler or a["status"] not in vocabulary.OPEN_APPLICATION_STATUSES:
            return escape(a["result"])
        path = f"{API}/service-applications/{a['id']}/transitions"
        note = (
            f'<input name="note" maxlength="1000" placeholder="{_tr("result", lang)}" '
            f'aria-label="{_tr("result", lang)}">'
        )
        out = ""
        if a["status"] == "submitted":
            out += _form(
                path, t("res.accept", lang), '<input type="hidden" name="action" value="accept">'
            )
        out += _form(
            path,
            t("res.complete", lang),
            '<input type="hidden" name="action" value="complete">' + note,
        )
        out += _form(
            path, t("res.reject", lang), '<input type="hidden" name="action" value="reject">' + note
        )
        return out

    app_rows = "".join(
        f'<tr class="gg-application" data-id="{a["id"]}" data-status="{a["status"]}">'
        f"<td>{escape(a['service_name'])}</td><td>{escape(a['applicant']['name'] or '')}</td>"
        f"<td>{escape(a['status_label'])}</td><td"
        f"{' class=gg-bad' if a['overdue'] else ''}>{_when(a['due_at'])}"
        f"{' ' + _tr('overdue', lang) if a['overdue'] else ''}</td><td>{actions(a)}</td></tr>"
        for a in apps
    )
    parts.append(
        f'<section class="gg-card" id="gg-staff-applications"><h2>{_tr("applications", lang)}'
        f"</h2><table><tr><th>{_tr('service', lang)}</th><th>{_tr('applicant', lang)}</th>"
        f"<th>{_tr('status', lang)}</th><th>{_tr('due', lang)}</th><th></th></tr>{app_rows}"
        "</table></section>"
    )
    organiser = viewer.role in access.VOLUNTEER_ORGANISERS
    acts = volunteers.list_activities(session, viewer, within=None, limit=30)["items"]
    act_rows = "".join(
        f'<tr class="gg-activity" data-id="{a["id"]}" data-status="{a["status"]}">'
        f"<td>{_when(a['starts_at'])}</td><td>{escape(a['title'])}</td>"
        f"<td>{escape(a['team_name'])}</td><td>{a['signed_up']}/{a['capacity']} · "
        f'{_tr("checked_in", lang)} {a["checked_in"]}</td><td class="gg-code">'
        f"{escape(a.get('checkin_code', ''))}</td><td>"
        + (
            _form(
                f"{API}/volunteer/activities/{a['id']}/complete", t("res.complete_activity", lang)
            )
            if organiser and a["status"] == "open" and "checkin_code" in a
            else escape(a["status_label"])
        )
        + "</td></tr>"
        for a in acts
    )
    new_activity = ""
    if organiser:
        teams = "".join(
            f'<option value="{tm["id"]}">{escape(tm["name"])}</option>'
            for tm in volunteers.teams(session, scope)
        )
        new_activity = _form(
            f"{API}/volunteer/activities",
            t("res.new_activity", lang),
            f"<h3>{_tr('new_activity', lang)}</h3><label>{_tr('team', lang)} <select "
            f'name="team_id" data-type="int">{teams}</select></label><label>{_tr("title", lang)}'
            f' <input name="title" required maxlength="100"></label><label>{_tr("place", lang)}'
            f' <input name="place" required maxlength="100"></label><label>'
            f'{_tr("starts_at", lang)} <input type="datetime-local" name="starts_at" required '
            f'data-type="local-time"></label><label>{_tr("ends_at", lang)} <input '
            f'type="datetime-local" name="ends_at" required data-type="local-time"></label>'
            f'<label>{_tr("capacity", lang)} <input type="number" name="capacity" min="1" '
            f'max="1000" value="20" data-type="int"></label><label>{_tr("hours", lang)} <input '
            f'type="number" name="hours" min="0.5" max="24" step="0.5" value="2"></label>',
            inline=False,
            extra=' id="gg-new-activity"',
        )
    parts.append(
        f'<section class="gg-card" id="gg-staff-activities"><h2>{_tr("activities", lang)}</h2>'
        f"<table>{act_rows}</table>{new_activity}</section>"
    )
    if viewer.role in access.CARE_READERS:
        due = care.visits_due(session, viewer, limit=50)
        plan = " · ".join(f"{escape(p['label'])} {p['interval_days']}" for p in due["plan"])
        totals = due["totals"]
        care_rows = "".join(
            f'<tr class="gg-care" data-state="{h["state"]}"><td>{escape(h["household"])}</td>'
            f"<td>{escape('、'.join(h['group_labels']))}</td>"
            f"<td>{_when(h['last_visit']) or _tr('never', lang)}</td>"
            f'<td class="{"gg-bad" if h["state"] == "overdue" else ""}">'
            f"{_tr('state.' + h['state'], lang)}"
            f"{' ' + str(h['days_overdue']) if h['days_overdue'] is not None else ''}</td></tr>"
            for h in due["items"]
            if h["state"] != "ok"
        )
        parts.append(
            f'<section class="gg-card" id="gg-care"><h2>{_tr("care", lang)}</h2>'
            f'<p class="gg-meta">{_tr("care_plan", lang)}：{plan}</p><p>'
            f'{_tr("state.overdue", lang)} <strong class="gg-bad" id="gg-care-overdue">'
            f"{totals['overdue']}</strong> · {_tr('state.due_soon', lang)} {totals['due_soon']}"
            f" · {_tr('state.ok', lang)} {totals['ok']}</p><table><tr><th>"
            f"{_tr('household', lang)}</th><th>{_tr('groups', lang)}</th><th>"
            f"{_tr('last_visit', lang)}</th><th></th></tr>{care_rows}</table></section>"
        )
    return "".join(parts)


@router.get(STAFF_PATH, response_class=HTMLResponse)
def staff_page(session: SessionDep, viewer: PageViewerDep) -> Response:
    """The staff desk; visitors are sent to sign in, roles without the work told so."""
    lang = _lang()
    if viewer.is_public:
        return RedirectResponse(f"/login?next={quote(STAFF_PATH, safe='')}", status_code=303)
    title = _tr("staff_title", lang)
    if viewer.role not in access.STAFF_READERS:
        return HTMLResponse(
            _page(lang, title, f"<p>{_tr('forbidden', lang)}</p>", phone=False),
            status_code=403,
            headers=NO_STORE,
        )
    nav = f'<nav><a href="/">{escape(t("nav.city", lang))}</a></nav>'
    body = nav + _staff_body(session, viewer, lang)
    return HTMLResponse(
        _page(lang, title, body, phone=False, bell=bell_html(viewer, lang)), headers=NO_STORE
    )
