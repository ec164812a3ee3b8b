"""Canary rollouts of new model versions: `lama-serve rollout | promote | rollback`.

smoke.py checks a version before it gets traffic, operations.py chains export, load
(`triton.control`), smoke check and the split (`traffic.state`), cli.py parses arguments.
"""
