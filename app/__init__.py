"""Samhandling: the API the agencies around a child use to share concerns, consent,
needs assessments and teams under the Backa barnet model."""

__version__ = "1.1.0"  # the API's version: info.version in the spec, the package's (pyproject.toml)
