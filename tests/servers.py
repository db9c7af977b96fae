"""What a test does when a program or server it needs is not here.

Outside CI it is skipped with the reason. In CI (the environment variable CI is set) it
fails instead: `.ci/run` installs and starts everything the suite needs, so a missing piece
there is a broken set-up, never a reason to pass quietly.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (in CI this is a failure: .ci/run installs and starts what the tests need)")
    pytest.skip(reason)
