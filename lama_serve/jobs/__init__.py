"""Asynchronous jobs: durable store and queue (SQLite or Redis), workers, idempotency keys and
signed webhooks. Imports only `lama_serve.core`; the gateway plugs a processor into it."""
