"""`lama-serve up` (the composition root: export, bundled Triton, rollout state, gateway) and `lama-serve keys`."""
