"""What a resident sees of himself (his link page and ``GET /resident-link/{credential}``)."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy.orm import Session

from gis.masking import mask_name
from gis.orglife.meetings import local_today
from gis.residents import notices, services, volunteers
from gis.residents.access import ResidentActor


def summary(session: Session, actor: ResidentActor, lang: str = "zh-CN") -> dict[str, Any]:
    """His notices, the services and his applications, activities, points and rewards."""
    return {
        "resident": {
            # His own name, masked all the same: a link can be forwarded.
            "name": mask_name(actor.name),
            "community_code": actor.community_code,
            "grid_code": actor.grid_code,
            "via": actor.via,
        },
        "notices": notices.for_resident(session, actor, today=local_today(), lang=lang),
        "services": services.catalogue(session),
        "applications": services.for_resident(session, actor),
        "activities": volunteers.for_resident(
            session, actor, now=datetime.datetime.now(datetime.UTC)
        ),
        "points": volunteers.points_for_resident(session, actor),
        "rewards": volunteers.rewards(session, actor.community_code),
    }
