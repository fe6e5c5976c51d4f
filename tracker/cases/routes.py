"""The views of the cases blueprint, one module per page family; importing this module (the
application factory does) attaches them all to `bp`.

- routes_cases: list, create, edit, case page, follow-ups, deletion, export;
- routes_import: the spreadsheet import (upload, review, confirm), its template and help;
- routes_follow_up: follow-up completeness and the annual status check;
- routes_duplicates: possible duplicates;
- routes_merge: resolving them (compare, merge and undo, move to another federation);
- routes_start: the staff start page (what is due) and its row actions;
- pages: what they share.
"""

from . import routes_cases, routes_duplicates, routes_follow_up, routes_import, routes_merge, routes_start

__all__ = ["routes_cases", "routes_duplicates", "routes_follow_up", "routes_import", "routes_merge",
           "routes_start"]
