"""Shared plumbing with no knowledge of charts or sessions: domain errors, environment
parsing, and the REST framework pieces every API uses."""
