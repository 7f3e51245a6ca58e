"""Piccolo tables of users: the `app_user` row is `wallet.identity`'s, named here too
for the users domain's own queries and for references by name."""

from wallet.identity.tables import AppUser as AppUser
