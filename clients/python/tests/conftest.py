from __future__ import annotations

import faulthandler
import os
import uuid
from typing import Any, Callable, Iterator

import pytest

from researchstore import Client

# A hung stream must not hang the run: dump the stacks and exit well inside the script's timeout.
faulthandler.dump_traceback_later(240, exit=True)


@pytest.fixture(scope="session")
def base_url() -> str:
    url = os.environ.get("RESEARCHSTORE_TEST_URL")
    if not url:
        pytest.fail("RESEARCHSTORE_TEST_URL is not set: run scripts/test-python-client")
    return url


def new_user() -> str:
    return f"py-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def user() -> str:
    return new_user()


@pytest.fixture
def make_client(base_url: str) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(user_id: str | None = None, url: str | None = None, **kw: Any) -> Client:
        c = Client(url or base_url, user_id=user_id or new_user(), **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
