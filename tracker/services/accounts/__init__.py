"""Accounts: users, member federations and personal API tokens."""
