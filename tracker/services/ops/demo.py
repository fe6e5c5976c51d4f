"""A seeded generator of realistic demo cases (quickstart) and benchmark volumes (bench/).

Shapes follow what the federations report: most transfers are successions or rescues in
manufacturing, construction and services, 5-50 employees; rescues fail sooner. Survival times
are drawn from Weibull distributions per transfer type; a fifth of the cases are registered
(back-filled) years after their transfer, so delayed entry matters as in real registries.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tracker.services.reference import nace_codes

DEMO_PASSWORD = "demo-password-2026"


@dataclass(frozen=True)
class DemoFederation:
    code: str
    name: str
    country: str
    legal_forms: tuple[str, ...]
    regions: tuple[str, ...] = ()


DEMO_FEDERATIONS: tuple[DemoFederation, ...] = (
    DemoFederation("FR-CGSCOP", "Confédération générale des Scop et des Scic", "FR", ("SCOP SA", "SCOP SARL", "SCIC"),
                   ("FR-ARA", "FR-BRE", "FR-IDF", "FR-OCC", "FR-PAC", "FR-NAQ")),
    DemoFederation("IT-LEGACOOP", "Legacoop Produzione e Servizi", "IT", ("cooperativa di lavoro",),
                   ("ITC4", "ITH5", "ITI1", "ITF3")),
    DemoFederation("ES-COCETA", "Confederación Española de Cooperativas de Trabajo Asociado", "ES",
                   ("cooperativa de trabajo asociado", "sociedad laboral"), ("ES-CT", "ES-PV", "ES-MD", "ES-AN")),
    DemoFederation("BE-FEBECOOP", "Febecoop", "BE", ("SC", "SRL coopérative"), ("BE-BRU", "BE-VLG", "BE-WAL")),
)

# transfer type: (share, Weibull scale in years, shape)
_TYPES = {"succession": (0.45, 26.0, 0.95), "rescue": (0.30, 8.0, 0.8), "conversion": (0.20, 17.0, 0.9),
          "other": (0.05, 14.0, 0.9)}
_SECTIONS = {"C": 30, "F": 12, "G": 9, "M": 9, "H": 6, "J": 6, "N": 6, "I": 5, "Q": 5, "S": 4, "E": 3, "P": 2,
             "R": 2, "A": 1}
_EXITS = {"liquidation": 58, "dissolution": 15, "sold": 10, "merged": 7, "demutualised": 6, "other": 4}
_TRADES = ("Atelier", "Menuiserie", "Imprimerie", "Fonderie", "Transports", "Bureau d'études", "Boulangerie",
           "Textiles", "Mécanique", "Informatique", "Services", "Bâtiment", "Librairie", "Verrerie", "Scierie")
_PLACES = ("du Nord", "de l'Ouest", "Centrale", "du Lac", "des Alpes", "Riviera", "del Sol", "Nova", "Unie",
           "Solidaire", "Populaire", "Moderne", "Artisanale", "Coopérative", "Européenne")


def _weighted(rng: random.Random, table: dict[str, Any], weights: list[float] | None = None) -> str:
    keys = list(table)
    return rng.choices(keys, weights=weights or [float(v if not isinstance(v, tuple) else v[0])
                                                 for v in table.values()])[0]


def generate_cases(n: int, federation: DemoFederation, seed: int = 2026, today: date | None = None,
                   first_year: int = 2003) -> Iterator[dict[str, Any]]:
    """Yield `n` case dicts in the import schema (typed values), reproducible for a given seed."""
    rng = random.Random(f"{seed}-{federation.code}")
    today = today or date.today()
    classes_by_section: dict[str, list[str]] = {}
    for code in nace_codes().values():
        if code.level == "class":
            classes_by_section.setdefault(code.section, []).append(code.code)
    start, span = date(first_year, 1, 1), (today - timedelta(days=120) - date(first_year, 1, 1)).days
    for i in range(1, n + 1):
        transfer = start + timedelta(days=rng.randrange(span))
        kind = _weighted(rng, _TYPES)
        _share, scale, shape = _TYPES[kind]
        lifetime_days = int(rng.weibullvariate(scale, shape) * 365.25) + 1
        end = transfer + timedelta(days=lifetime_days)
        roll = rng.random()
        if roll < 0.18:  # back-filled: logged years later, sometimes after the exit
            registered = min(today, transfer + timedelta(days=rng.randrange(180, 8 * 365)))
        elif roll < 0.23:  # a supported project, logged before the transfer
            registered = transfer - timedelta(days=rng.randrange(30, 365))
        else:
            registered = transfer
        closed = end <= today
        last_verified = None
        if not closed:
            # most federations check yearly; some cases are stale
            lag = rng.randrange(0, 200) if rng.random() < 0.85 else rng.randrange(365, 3 * 365)
            # a case logged recently was confirmed operating when it was logged
            last_verified = max(transfer, registered, today - timedelta(days=lag))
        elif rng.random() < 0.6:
            last_verified = max(transfer, end - timedelta(days=rng.randrange(30, 400)))
        section = _weighted(rng, _SECTIONS)
        nace = rng.choice(classes_by_section[section])
        employees = max(0, int(rng.lognormvariate(2.8, 0.9)))
        exit_date = end if closed else None
        yield {
            "ref": f"{federation.code.split('-')[0]}-{transfer.year}-{i:05d}",
            "name": f"{rng.choice(_TRADES)} {rng.choice(_PLACES)} {i}",
            "national_id": f"{federation.country}{rng.randrange(10**8, 10**9)}" if rng.random() < 0.7 else None,
            "country": federation.country,
            "region": rng.choice(federation.regions) if federation.regions and rng.random() < 0.8 else None,
            "nace": nace,
            "employees": employees,
            "transfer_date": transfer,
            "transfer_type": kind,
            "legal_form": rng.choice(federation.legal_forms),
            "registered_on": registered,
            "last_verified_on": last_verified,
            "exit_date": exit_date,
            "exit_reason": _weighted(rng, _EXITS) if exit_date else None,
        }


def duplicate_variants(cases: list[dict[str, Any]], count: int = 1) -> list[dict[str, Any]]:
    """Cases recorded twice, as happens in practice, so the possible-duplicates features show in
    the demo: a second record of an open case under another ref, with its legal form in the name
    (same words once normalised) and, every other time, the same national id written with
    spaces. Typed values in the import schema, like `generate_cases`."""
    out = []
    open_cases = [case for case in cases if case["exit_date"] is None and case["national_id"]]
    for n, original in enumerate(open_cases[:count], 1):
        twin = dict(original)
        twin["ref"] = f"{original['ref']}-B"
        twin["name"] = f"{original['name']} {original['legal_form'].split()[0]}"
        if n % 2:
            national = original["national_id"]
            twin["national_id"] = " ".join(national[i:i + 3] for i in range(0, len(national), 3))
        else:
            twin["national_id"] = None
        out.append(twin)
    return out
