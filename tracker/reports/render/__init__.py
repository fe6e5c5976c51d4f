"""Last stage of the annual report: write the frozen report model as HTML, PDF, XLSX or a CSV zip.
Renderers read only `tracker.reports.content`; they compute nothing."""
