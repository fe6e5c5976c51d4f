"""Use cases. Services validate rules, change models and flush; the caller (view, CLI) commits once."""
