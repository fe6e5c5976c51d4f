"""The French, Italian and Spanish catalogues are complete and shipped compiled: every message the
code and the templates mark for translation has a reviewed (not fuzzy) translation in each, with
the same placeholders, and the .mo files the app reads say what the .po files say."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tracker.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "tracker" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|%[sdfr]")
TRANSLATED = [code for code in LANGUAGES if code != "en"]


def _extracted() -> set[str]:
    """What `pybabel extract -F pyproject.toml` finds: the msgids of the code and templates."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["babel"]
    ids: set[str] = set()
    for mapping in settings["mappings"]:
        options = {k: v for k, v in mapping.items() if k not in ("method", "pattern", "keywords")}
        keywords = parse_keywords(mapping.get("keywords", [])) if "keywords" in mapping else None
        kwargs = {"keywords": keywords} if keywords else {}
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT, method_map=[(mapping["pattern"], mapping["method"])],
                options_map={mapping["pattern"]: options}, **kwargs):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    return _extracted()


def _catalogue(language: str):  # noqa: ANN202
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=language)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language: str, extracted: set[str]) -> None:
    catalogue = _catalogue(language)
    ids = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id}
    missing = sorted(extracted - set(ids))
    assert not missing, f"{language}: not in the catalogue (run the extraction of docs/design.md): {missing[:20]}"
    untranslated = sorted(i for i, m in ids.items()
                          if not (all(m.string) if isinstance(m.string, tuple) else m.string))
    assert not untranslated, f"{language}: untranslated: {untranslated[:20]}"
    fuzzy = sorted(i for i, m in ids.items() if m.fuzzy)
    assert not fuzzy, f"{language}: fuzzy (to review): {fuzzy[:20]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    for message in _catalogue(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert sorted(PLACEHOLDER.findall(string)) == wanted, (language, message.id, string)


def _hashable(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    """A plural message's forms come back from the .mo as a list."""
    return value if isinstance(value, str) else tuple(value)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_is_up_to_date(language: str) -> None:
    """The app reads the .mo; it must hold exactly the .po's translations (`pybabel compile`)."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.mo").open("rb") as fh:
        compiled = {_hashable(m.id): _hashable(m.string) for m in read_mo(fh) if m.id}
    written = {_hashable(m.id): _hashable(m.string) for m in _catalogue(language) if m.id and not m.fuzzy}
    assert compiled == written, f"{language}: messages.mo is stale; run `pybabel compile -d tracker/translations`"
