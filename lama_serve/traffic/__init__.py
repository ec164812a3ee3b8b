"""The traffic split between model versions: written by `lama-serve rollout`, read by every gateway (stdlib only)."""
