"""Recording a choice: how a visitor's decision becomes a signed receipt in the log.

A request body flows ``choice`` (parsed and validated) → ``subjects`` (the consent id kept
behind a salted commitment) → ``notices`` (the exact text version the visitor was shown) →
``receipts`` (the log entry and the JWS receipt the visitor keeps) → the ledger.
``service`` is the facade the web layer calls: record, history, withdraw, erase, purge;
``adoption`` records a choice taken over from a receipt the visitor already holds (a
handoff, a customer account) under a receipt of its own; ``dpv`` exports a visitor's
receipts as W3C DPV for portability.  Nothing here speaks HTTP: a refused choice is an
``InvalidChoice``, which the web boundary answers 422.
"""
