"""Cooperatives on the platform or not yet: what happens when one comes aboard or leaves.

(The subscriptions, contact card and notices are built on this in issue 15.)
"""

from __future__ import annotations

import logging

from storage.models import Cooperative

log = logging.getLogger(__name__)


class PlatformService:
    """The :class:`bot.services.board.PlatformEvents` of the running bot."""

    async def came_aboard(self, coop: Cooperative) -> None:
        log.info("cooperative on the platform coop=%s", coop.id)

    async def went_off(self, coop: Cooperative) -> None:
        log.info("cooperative off the platform coop=%s", coop.id)
