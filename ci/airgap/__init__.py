"""Prepare this machine for the kind platform with no container registry: ``python -m ci.airgap``."""
