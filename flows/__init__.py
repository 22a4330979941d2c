"""Prefect flows: they only orchestrate functions from `pipelines`."""
