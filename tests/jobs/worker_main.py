"""A job worker process for the crash tests: settings from the environment, the fake
`echo` processor, runs until killed."""

from __future__ import annotations

import asyncio

from lama_serve.core.settings import Settings
from lama_serve.jobs.service import open_jobs
from tests.jobs.conftest import echo


async def main() -> None:
    async with open_jobs(Settings(), echo):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
