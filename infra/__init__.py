"""Deployment and local-stack tooling: resource definitions, provisioning, packaging and the `hotspot` CLI."""
