"""Spreadsheets in and out: reading CSV/XLSX uploads, planning and writing an import, the annual
status-check sheet, exports in the import schema, uploads staged between check and confirm, and
the help on each column."""
