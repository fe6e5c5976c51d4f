"""Case work: creating, editing and following up cases, the case list, follow-up completeness,
possible duplicates and the audit trail of every change."""
