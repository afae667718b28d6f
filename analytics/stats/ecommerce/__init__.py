"""Ecommerce reports: orders (deduplicated by order id), products and categories, goal revenue.

``names`` is the vocabulary the query parser accepts; ``statements`` turns a parsed query
into SQL with the same shape as the other plans, so the runner, comparisons and CSV treat
its answers like any other.
"""
