"""``/rate/{credential}``: the reporter follows his case and rates it once it is closed (一事一评).

A small page for a phone (Chinese first, strings from web/i18n.py), opened from the link the
intake gave him (or with his Open311 token). It works without JavaScript: five star radios, a
comment box and a plain form POST, answered with a redirect to the page (post/redirect/get) once
the rating is stored. The rules — who may rate, when, how often — are gis/incidents/rating.py,
which ``/api/v1/ratings/{credential}`` uses too.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis.errors import Conflict, Forbidden, GridgovError, InvalidInput, NotFound
from gis.incidents import rating
from gis.settings import get_settings
from web.i18n import t
from web.mapkit import SessionDep, static_url

router = APIRouter(include_in_schema=False)

Credential = Annotated[str, Path(max_length=80)]
NO_STORE = {"Cache-Control": "no-store"}

_STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#222;
background:#f6f6f6;font-size:17px;line-height:1.5}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1{color:#b71c1c;font-size:1.3rem;margin:.2rem 0 .8rem}
.gg-card{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem .8rem;margin:0}
dt{color:#666} dd{margin:0}
ol.gg-steps{list-style:none;padding:0;margin:0} ol.gg-steps li{padding:.35rem 0;
border-bottom:1px solid #eee} ol.gg-steps time{color:#666;font-size:.9rem;display:block}
.gg-stars{display:flex;flex-direction:row-reverse;justify-content:flex-end;gap:.2rem}
.gg-stars input{position:absolute;opacity:0;width:1px;height:1px}
.gg-stars label{font-size:2.6rem;line-height:1;color:#ccc;cursor:pointer;padding:0 .1rem}
.gg-stars input:checked~label,.gg-stars label:hover,.gg-stars label:hover~label{color:#f5a623}
.gg-stars input:focus-visible+label{outline:2px solid #b71c1c}
textarea{width:100%;box-sizing:border-box;min-height:6rem;font:inherit;padding:.5rem}
button{width:100%;padding:.8rem;font-size:1.05rem;background:#b71c1c;color:#fff;border:0;
border-radius:6px;margin-top:.8rem}
.gg-msg{padding:.7rem 1rem;border-radius:6px;margin-bottom:1rem}
.gg-error{background:#fdecea;color:#8a1c13} .gg-ok{background:#e8f5e9;color:#1b5e20}
.gg-rated{font-size:1.8rem;color:#f5a623}
"""


def _tr(key: str, lang: str) -> str:
    return escape(t(f"rate.{key}", lang))


def status_label(status: str, lang: str) -> str:
    return t(f"js.status.{status}", lang)


def _when(value: str | None) -> str:
    # ISO 8601 in CST, cut to the minute: the page is for a person, not a parser.
    return "" if value is None else escape(value[:16].replace("T", " "))


def _page(lang: str, body: str, title: str) -> str:
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<link rel="icon" href="{static_url("gridgov/favicon.svg")}">
<style>{_STYLE}</style></head><body><main>
{body}
</main></body></html>"""


def _form(lang: str, credential: str, comment: str) -> str:
    stars = "".join(
        f'<input type="radio" id="gg-star-{n}" name="rating" value="{n}" required>'
        f'<label for="gg-star-{n}" title="{n}">★</label>'
        for n in reversed(rating.STARS)
    )
    return f"""<form class="gg-card gg-rate-form" method="post" action="/rate/{escape(credential)}">
<h2>{_tr("question", lang)}</h2>
<fieldset style="border:0;padding:0;margin:0"><legend>{_tr("stars", lang)}</legend>
<div class="gg-stars">{stars}</div></fieldset>
<label for="gg-comment">{_tr("comment", lang)}</label>
<textarea id="gg-comment" name="comment" maxlength="{rating.COMMENT_MAX}"
 placeholder="{_tr("comment_hint", lang)}">{escape(comment)}</textarea>
<button type="submit">{_tr("submit", lang)}</button>
</form>"""


def _case_html(lang: str, case: dict[str, Any]) -> str:
    steps = "".join(
        f'<li data-status="{escape(h["status"])}"><time>{_when(h["at"])}</time>'
        f"{escape(status_label(h['status'], lang))}"
        f"{' — ' + escape(h['note']) if h['note'] else ''}</li>"
        for h in case["history"]
    )
    rows = [
        ("code", escape(case["code"])),
        ("category", escape(case["category"])),
        (
            "status",
            f'<strong class="gg-status">{escape(status_label(case["status"], lang))}</strong>',
        ),
        ("reported_at", _when(case["reported_at"])),
    ]
    if case["closed_at"]:
        rows.append(("closed_at", _when(case["closed_at"])))
    if case["address"]:
        rows.append(("address", escape(case["address"])))
    details = "".join(f"<dt>{_tr(k, lang)}</dt><dd>{v}</dd>" for k, v in rows)
    return f"""<section class="gg-card gg-case" data-code="{escape(case["code"])}"
 data-status="{escape(case["status"])}">
<dl>{details}</dl>
<p>{escape(case["description"])}</p></section>
<section class="gg-card"><h2>{_tr("progress", lang)}</h2><ol class="gg-steps">{steps}</ol>
</section>"""


def _reason_key(status: str) -> str:
    return {"evaluated": "already", "rejected": "rejected"}.get(status, "not_closed")


def render(
    lang: str,
    credential: str,
    case: dict[str, Any],
    message: tuple[str, str] | None = None,
    comment: str = "",
) -> str:
    title = _tr("title", lang)
    parts = [f"<h1>{title}</h1>"]
    if message is not None:
        kind, text = message
        parts.append(f'<p class="gg-msg gg-{kind}" role="status">{escape(text)}</p>')
    if case["can_rate"]:
        parts.append(_form(lang, credential, comment))
    elif case["rating"] is not None:
        stars = "★" * case["rating"] + "☆" * (5 - case["rating"])
        parts.append(
            f'<section class="gg-card gg-your-rating" data-rating="{case["rating"]}">'
            f"<h2>{_tr('yours', lang)}</h2><p class='gg-rated'>{stars}</p>"
            f"<p>{_when(case['rated_at'])}</p></section>"
        )
    else:
        parts.append(f'<p class="gg-msg gg-note">{_tr(_reason_key(case["status"]), lang)}</p>')
    parts.append(_case_html(lang, case))
    return _page(lang, "\n".join(parts), title)


def _refusal(lang: str, exc: GridgovError) -> HTMLResponse:
    """A link that is not ours or has expired: say so, show nothing of any case."""
    key, status = ("expired", 403) if isinstance(exc, Forbidden) else ("invalid", 404)
    body = f"<h1>{_tr('title', lang)}</h1><p class='gg-msg gg-error'>{_tr(key, lang)}</p>"
    return HTMLResponse(_page(lang, body, _tr("title", lang)), status, headers=NO_STORE)


@router.get("/rate/{credential}", response_class=HTMLResponse)
def rating_page(session: SessionDep, credential: Credential, done: bool = False) -> Response:
    lang = get_settings().language
    try:
        case = rating.public_case(session, credential)
    except (NotFound, Forbidden) as exc:
        return _refusal(lang, exc)
    message = ("ok", t("rate.thanks", lang)) if done and case["rating"] is not None else None
    return HTMLResponse(render(lang, credential, case, message), headers=NO_STORE)


@router.post("/rate/{credential}", response_class=HTMLResponse)
def rate_from_page(
    session: SessionDep,
    credential: Credential,
    rating_: Annotated[str, Form(alias="rating", max_length=2)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    lang = get_settings().language
    try:
        stars = int(rating_) if rating_.isdigit() else 0
        rating.rate(session, credential, stars, comment)
    except (NotFound, Forbidden) as exc:
        return _refusal(lang, exc)
    except (Conflict, InvalidInput) as exc:
        case = rating.public_case(session, credential)
        if isinstance(exc, Conflict):
            key, status = _reason_key(case["status"]), 409
        elif exc.parameter == "comment":
            key, status = "too_long", 400
        else:
            key, status = "choose_stars", 400
        page = render(lang, credential, case, ("error", t(f"rate.{key}", lang)), comment)
        return HTMLResponse(page, status, headers=NO_STORE)
    return RedirectResponse(f"/rate/{credential}?done=1", status_code=303, headers=NO_STORE)
