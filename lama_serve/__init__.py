"""The `lama-serve` command line: one entry point, one subcommand per capability."""
