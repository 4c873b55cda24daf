"""Samhandling: the API the agencies around a child use to share concerns, consent,
needs assessments and teams under the Backa barnet model."""
