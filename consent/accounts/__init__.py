"""Consent that follows a customer account across devices.

A site's customer portal vouches for who is logged in with an account token (``tokens``:
an HS256 JWT under the site's ``accounts.secret``).  samtycke keeps no customer
identifier: ``pseudonyms`` turns the token's ``sub`` into a keyed pseudonym, and the log
sees the account only as a salted commitment to that (``recording.subjects``), so erasing
the account shreds the link.  ``links`` files each receipt made or adopted for the
account; ``service`` links a choice, adopts the account's choice in another browser,
answers the portal's backend and erases the account.
"""
