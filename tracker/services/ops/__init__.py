"""Operations: backups and restores, the seeded demo data and the quick start."""
