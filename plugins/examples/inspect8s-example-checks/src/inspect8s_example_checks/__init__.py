"""Example third-party checks for inspect8s (entry point: inspect8s_example_checks.checks)."""
