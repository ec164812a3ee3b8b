"""Sends due outbox deliveries, retrying on the settings' schedule until delivered."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp

from lama_serve.core.settings.jobs import JobsSettings
from lama_serve.jobs.errors import WebhookRefused
from lama_serve.jobs.outbox import Delivery, Outbox
from lama_serve.jobs.ssrf import check_url
from lama_serve.jobs.webhook_secrets import WebhookSecrets
from lama_serve.jobs.webhooks import next_delay, send

log = logging.getLogger(__name__)
POLL_S = 0.5
BATCH = 16


class Dispatcher:
    def __init__(self, outbox: Outbox, secrets: WebhookSecrets, settings: JobsSettings) -> None:
        self._outbox = outbox
        self._secrets = secrets
        self._settings = settings
        self._wakeup = asyncio.Event()
        self._stopping = False

    async def enqueue(self, delivery: Delivery) -> None:
        """Persist first: once this returns the event survives a crash."""
        delivery.due = time.time()
        await self._outbox.add(delivery)
        self._wakeup.set()

    async def forget(self, delivery: Delivery) -> None:
        """Withdraw an event that turned out not to happen (a job canceled meanwhile)."""
        await self._outbox.remove(delivery.id)

    def stop(self) -> None:
        """Make `run` return even when the cancel that follows it is swallowed (see WorkerPool.stop)."""
        self._stopping = True
        self._wakeup.set()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._stopping:
                due = await self._outbox.claim_due(BATCH)
                if due:
                    await asyncio.gather(*(self._deliver(session, d) for d in due))
                    continue
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), POLL_S)
                except asyncio.TimeoutError:
                    pass

    async def _deliver(self, session: aiohttp.ClientSession, delivery: Delivery) -> None:
        settings = self._settings
        if await self._outbox.url_disabled(delivery.url):
            await self._outbox.remove(delivery.id)
            return
        try:
            await check_url(delivery.url, settings.webhook_allow_private)
        except WebhookRefused as exc:
            log.warning("dropping webhook %s: %s", delivery.id, exc.detail)
            await self._outbox.remove(delivery.id)
            return
        outcome = await send(
            session,
            delivery,
            await asyncio.to_thread(self._secrets.signing, delivery.owner),  # file or Redis I/O
            settings.webhook_timeout_s,
            settings.webhook_max_response_bytes,
        )
        if outcome.delivered:
            await self._outbox.remove(delivery.id)
        elif outcome.gone:
            log.warning("webhook receiver %s answered 410: no more deliveries to it", delivery.url)
            await self._outbox.disable_url(delivery.url)
            await self._outbox.remove(delivery.id)
        else:
            delivery.attempt += 1
            delay = next_delay(settings.webhook_retry_schedule_s, delivery.attempt, outcome.retry_after_s)
            if delay is None:
                log.warning("giving up webhook %s after %d attempts", delivery.id, delivery.attempt)
                await self._outbox.remove(delivery.id)
                return
            delivery.due = time.time() + delay
            await self._outbox.reschedule(delivery)
