"""What every appointment rule needs besides the session: keys, settings, who, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from idsvc.audit.service import Actor
from idsvc.clock import local_date
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey

PUBLIC = Actor("public")  # a resident without an account: known only by a code


@dataclass(frozen=True)
class Context:
    keys: MasterKey
    settings: Settings
    actor: Actor
    now: datetime

    @property
    def today(self) -> date:
        return local_date(self.now, self.settings.timezone)
