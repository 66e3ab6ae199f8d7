"""What a running app holds for its requests: settings, master key, policy.

Loaded once in create_app() and handed to handlers as typed dependencies,
so tests can build an app with their own settings and keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.enrollment.policy import Policy


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    master_key: MasterKey
    policy: Policy


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
