"""First stage of the annual report: gather its inputs through the analytics service and build each
section into the frozen report model of `tracker.reports.content` (with confidentiality applied)."""
