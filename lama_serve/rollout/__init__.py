"""Canary rollouts of new model versions: `lama-serve rollout | promote | rollback`.

state.py holds the traffic split (one JSON file every gateway reads), router.py picks a
version per request from it, control.py talks to Triton's repository API, smoke.py checks
a version before it gets traffic, operations.py chains them, cli.py parses arguments.
"""
