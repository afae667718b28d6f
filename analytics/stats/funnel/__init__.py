"""Funnels: ``POST /api/v1/stats/funnel``, as parser -> builder -> runner like the stats query."""
