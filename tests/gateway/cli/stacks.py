"""The CLI on the test's stack: an embedded data directory, or (``MILESGATE_TEST_STACK=production``) the
worker's emptied PostgreSQL database, through the same environment variables an operator sets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from typer.testing import CliRunner, Result

from gateway.cli import app
from gateway.db import close_database, open_database
from gateway.settings import Settings
from tests.conftest import _truncate_all
from tests.support import STACK, in_embedded_db

T = TypeVar("T")

runner = CliRunner()
SECRET_KEY = "cli-test-secret-key-long-enough-0123456789abcdef"


def stack_env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment of a CLI run on the test's stack; wide output, no wrapping."""
    env = {"MILESGATE_DATA_DIR": str(tmp_path), "MILESGATE_SECRET_KEY": SECRET_KEY, "COLUMNS": "200"}
    if STACK == "production":
        url: str = request.getfixturevalue("postgres_ready")
        with ThreadPoolExecutor(max_workers=1) as pool:  # outside any running event loop
            pool.submit(asyncio.run, _truncate_all(url)).result()
        env["MILESGATE_DATABASE_URL"] = url
    return env


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


def in_stack_db(env: dict[str, str], work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` against the database the CLI runs of ``env`` use."""
    url = env.get("MILESGATE_DATABASE_URL")
    if url is None:
        return in_embedded_db(Path(env["MILESGATE_DATA_DIR"]), work)

    async def _run() -> T:
        await open_database(Settings(database_url=url, secret_key=SECRET_KEY))
        try:
            return await work()
        finally:
            await close_database()

    return asyncio.run(_run())
