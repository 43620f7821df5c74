"""Offline validation of the manifests, the Dockerfile and the compiled pipeline: python -m ci.validate."""
