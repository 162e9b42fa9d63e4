"""Tests of `translate.corpus`: readers, cleaning, splits and files.

All data is built in `tmp_path`; .mo catalogs are compiled with polib (and,
where the system has it, also with GNU msgfmt). One test reads the system's
German catalogs and is skipped where there are none.
"""

import collections
import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import polib
import pytest

from translate import corpus
from translate.corpus import (
    CorpusError,
    CorpusWarning,
    Pair,
    clean_pairs,
    describe_split_rule,
    normalize,
    read_gettext,
    read_mo,
    read_parallel,
    read_po,
    read_po_files,
    read_tsv,
    sha256_file,
    split_pairs,
    write_tsv,
)

# A Latin-1 catalog with one entry of each kind (the header too has Latin-1).
LATIN1_PO = """\
# German translations
msgid ""
msgstr ""
"Project-Id-Version: demo 1.0\\n"
"Last-Translator: Jürgen Größe <j@example.org>\\n"
"Content-Type: text/plain; charset=ISO-8859-1\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

#: src/size.c:10
msgid "Size"
msgstr "Größe"

msgctxt "menu"
msgid "Open"
msgstr "Öffnen"

msgid "One file"
msgid_plural "%d files"
msgstr[0] "Eine Datei"
msgstr[1] "%d Dateien"

#, fuzzy
msgid "Close"
msgstr "Schließen"

msgid "Quit"
msgstr ""

msgid "Line one\\n"
"line two"
msgstr "Zeile eins\\n"
"Zeile zwei"

#~ msgid "Old"
#~ msgstr "Alt"
"""

EXPECTED_MESSAGES = {
    ("Size", "Größe"),
    ("Open", "Öffnen"),
    ("One file", "Eine Datei"),
    ("Line one\nline two", "Zeile eins\nZeile zwei"),
}


def utf8_po(messages):
    """A UTF-8 .po catalog of `(msgid, msgstr)` pairs."""
    entries = "".join(f'\nmsgid "{s}"\nmsgstr "{t}"\n' for s, t in messages)
    return ('msgid ""\nmsgstr ""\n'
            '"Content-Type: text/plain; charset=UTF-8\\n"\n' + entries)


def write_po(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def compile_mo(po_path, mo_path):
    """Compiles with polib, so no system tool is needed."""
    polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
    return mo_path


def line_of(text, needle):
    return text.splitlines().index(needle) + 1


def source_target(pairs):
    return {(p.source, p.target) for p in pairs}


# ---------------------------------------------------------------- TSV

def test_read_tsv_reads_pairs_with_line_numbers(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_bytes(b"\xef\xbb\xbfHello\tHallo\n"
                     b"Size\tGr\xc3\xb6\xc3\x9fe\textra column\r\n"
                     b"\n"
                     b"\tonly target\n")
    stats = collections.Counter()
    pairs = list(read_tsv(path, stats=stats))
    assert pairs == [Pair("Hello", "Hallo", str(path), 1),
                     Pair("Size", "Größe", str(path), 2),
                     Pair("", "only target", str(path), 4)]
    assert stats == {"blank_lines": 1}


def test_read_tsv_of_an_empty_file_yields_nothing(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_bytes(b"")
    assert list(read_tsv(path)) == []


def test_read_tsv_line_without_tab_names_file_and_line(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("a\tb\nc\td\nno tab here\ne\tf\n", encoding="utf-8")
    pairs = read_tsv(path)
    assert next(pairs).source == "a"  # streams: good lines come before the error
    assert next(pairs).source == "c"
    with pytest.raises(CorpusError) as info:
        next(pairs)
    assert str(info.value) == f"{path}:3: expected 'source<TAB>target', found no tab"
    assert (info.value.path, info.value.line) == (str(path), 3)


def test_read_tsv_undecodable_bytes_name_file_and_line(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_bytes(b"ok\tja\n\xff\xfe\tbad\n")
    with pytest.raises(CorpusError, match=r"data\.tsv:2: not valid UTF-8: byte 0xff at column 1"):
        list(read_tsv(path))


def test_read_tsv_skip_bad_lines_counts_them(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_bytes(b"a\tb\nno tab\n\xc3\x28\tx\nc\td\n")
    stats = collections.Counter()
    pairs = list(read_tsv(path, skip_bad_lines=True, stats=stats))
    assert [(p.source, p.line) for p in pairs] == [("a", 1), ("c", 4)]
    assert stats["bad_lines"] == 2


def test_read_tsv_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(read_tsv(tmp_path / "missing.tsv"))


# ---------------------------------------------------------------- parallel

def test_read_parallel_pairs_aligned_lines(tmp_path):
    en, de = tmp_path / "train.en", tmp_path / "train.de"
    en.write_text("Hello\n\nSize\n", encoding="utf-8")
    de.write_text("Hallo\n\nGröße\n", encoding="utf-8")
    assert list(read_parallel(en, de)) == [Pair("Hello", "Hallo", str(en), 1),
                                           Pair("", "", str(en), 2),
                                           Pair("Size", "Größe", str(en), 3)]


@pytest.mark.parametrize("longer", ["source", "target"])
def test_read_parallel_unequal_lengths_name_both_files_and_line(tmp_path, longer):
    en, de = tmp_path / "train.en", tmp_path / "train.de"
    en.write_text("a\nb\nc\n" if longer == "source" else "a\nb\n", encoding="utf-8")
    de.write_text("x\ny\n" if longer == "source" else "x\ny\nz\n", encoding="utf-8")
    shorter, longer_path = (de, en) if longer == "source" else (en, de)
    with pytest.raises(CorpusError) as info:
        list(read_parallel(en, de))
    message = str(info.value)
    assert str(en) in message and str(de) in message
    assert f"{shorter} ends after line 2" in message
    assert message.startswith(f"{longer_path}:3:")


def test_read_parallel_undecodable_line(tmp_path):
    en, de = tmp_path / "a.en", tmp_path / "a.de"
    en.write_bytes(b"one\ntwo\n")
    de.write_bytes(b"eins\nzw\xe4i\n")
    with pytest.raises(CorpusError, match=r"a\.de:2: not valid UTF-8"):
        list(read_parallel(en, de))
    stats = collections.Counter()
    assert len(list(read_parallel(en, de, skip_bad_lines=True, stats=stats))) == 1
    assert stats["bad_lines"] == 1


# ---------------------------------------------------------------- gettext

def test_read_po_latin1_catalog(tmp_path):
    path = write_po(tmp_path / "de.po", LATIN1_PO, encoding="latin-1")
    stats = collections.Counter()
    pairs = list(read_po(path, stats=stats))
    assert source_target(pairs) == EXPECTED_MESSAGES
    assert {p.origin for p in pairs} == {str(path)}
    size = next(p for p in pairs if p.source == "Size")
    assert size.line == line_of(LATIN1_PO, "#: src/size.c:10")  # where the entry starts
    assert stats == {"fuzzy": 1, "obsolete": 1, "untranslated": 1}


def test_read_mo_compiled_by_polib_honours_charset_and_context(tmp_path):
    po = write_po(tmp_path / "demo.po", LATIN1_PO, encoding="latin-1")
    mo = compile_mo(po, tmp_path / "demo.mo")
    assert b"Gr\xf6\xdfe" in mo.read_bytes()  # really stored as ISO-8859-1
    pairs = list(read_mo(mo))
    assert source_target(pairs) == EXPECTED_MESSAGES  # msgctxt dropped, singular kept
    assert {(p.origin, p.line) for p in pairs} == {("demo", 0)}


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU msgfmt is not installed")
def test_read_mo_compiled_by_msgfmt(tmp_path):
    po = write_po(tmp_path / "demo.po", LATIN1_PO, encoding="latin-1")
    mo = tmp_path / "demo.mo"
    subprocess.run(["msgfmt", "-o", str(mo), str(po)], check=True)
    assert source_target(read_mo(mo)) == EXPECTED_MESSAGES


def test_read_mo_charset_comes_from_the_header_not_a_message(tmp_path):
    # A message mentioning a charset is stored before the header's text.
    text = utf8_po([("Content-Type: text/plain; charset=ISO-8859-1", "Inhalt"),
                    ("Size", "Größe")])
    mo = compile_mo(write_po(tmp_path / "tricky.po", text), tmp_path / "tricky.mo")
    assert ("Size", "Größe") in source_target(read_mo(mo))


def test_read_po_syntax_error_names_the_line(tmp_path):
    path = write_po(tmp_path / "bad.po", utf8_po([("a", "b")]) + 'msgid "x"\nbogus "y"\n')
    with pytest.raises(CorpusError, match=r"bad\.po:\d+: not a valid \.po catalog"):
        list(read_po(path))


def test_read_po_plurals_adds_the_plural_form_of_two_form_entries(tmp_path):
    text = LATIN1_PO + """
msgid "One folder"
msgid_plural "%d folders"
msgstr[0] "Ein Ordner"
msgstr[1] ""
"""
    path = write_po(tmp_path / "de.po", text, "latin-1")
    assert source_target(read_po(path)) == EXPECTED_MESSAGES | {("One folder", "Ein Ordner")}
    # With plurals: "%d files" too; not the untranslated plural form.
    assert source_target(read_po(path, plurals=True)) == EXPECTED_MESSAGES | {
        ("%d files", "%d Dateien"), ("One folder", "Ein Ordner")}
    mo = compile_mo(path, tmp_path / "de.mo")
    assert ("%d files", "%d Dateien") in source_target(read_po_files([mo], plurals=True))
    # Three forms (Russian's): no form is the English plural's translation.
    russian = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
               '"Plural-Forms: nplurals=3; plural=(n%10==1 ? 0 : 1);\\n"\n\n'
               'msgid "One file"\nmsgid_plural "%d files"\n'
               'msgstr[0] "%d файл"\nmsgstr[1] "%d файла"\nmsgstr[2] "%d файлов"\n')
    ru = write_po(tmp_path / "ru.po", russian)
    assert source_target(read_po(ru, plurals=True)) == {("One file", "%d файл")}


def test_read_po_files_reads_po_and_mo_in_order(tmp_path):
    first = write_po(tmp_path / "first.po", utf8_po([("One", "Eins")]))
    second = compile_mo(write_po(tmp_path / "x.po", utf8_po([("Two", "Zwei")])),
                        tmp_path / "second.mo")
    pairs = list(read_po_files([first, second]))
    assert [(p.source, p.origin) for p in pairs] == [("One", str(first)), ("Two", "second")]


@pytest.fixture
def locale_dir(tmp_path):
    """`<dir>/de/LC_MESSAGES` with good, Latin-1, aliased and corrupt catalogs."""
    root = tmp_path / "locale"
    messages = root / "de" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    sources = tmp_path / "po"
    sources.mkdir()
    compile_mo(write_po(sources / "a.po", utf8_po([("File", "Datei"), ("Edit", "Bearbeiten")])),
               messages / "alpha.mo")
    compile_mo(write_po(sources / "c.po", LATIN1_PO, encoding="latin-1"),
               messages / "charlie.mo")
    (messages / "bravo.mo").write_bytes(b"this is not a catalog")
    (messages / "delta.mo").write_bytes((messages / "alpha.mo").read_bytes()[:30])
    (messages / "echo.mo").symlink_to("alpha.mo")
    (messages / "notes.txt").write_text("not a catalog")
    variant = root / "de_AT" / "LC_MESSAGES"
    variant.mkdir(parents=True)
    compile_mo(write_po(sources / "v.po", utf8_po([("January", "Jänner")])),
               variant / "alpha.mo")
    return root


def test_read_gettext_skips_unreadable_catalogs_with_a_warning(locale_dir):
    stats = collections.Counter()
    with pytest.warns(CorpusWarning) as caught:
        pairs = list(read_gettext("de", locale_dir=locale_dir, stats=stats))
    warned = " ".join(str(w.message) for w in caught)
    assert "bravo.mo" in warned and "delta.mo" in warned
    assert [p.origin for p in pairs] == ["alpha"] * 2 + ["charlie"] * 4  # sorted
    assert source_target(pairs) == {("File", "Datei"), ("Edit", "Bearbeiten")} | EXPECTED_MESSAGES
    assert "Jänner" not in {p.target for p in pairs}  # only the exact "de" directory
    assert stats["catalogs"] == 2
    assert stats["unreadable_catalogs"] == 2
    assert stats["alias_catalogs"] == 1


def test_read_gettext_missing_language(locale_dir):
    with pytest.raises(CorpusError, match="no gettext catalogs for 'fr'"):
        list(read_gettext("fr", locale_dir=locale_dir))
    with pytest.raises(ValueError, match="locale name"):
        read_gettext("../de", locale_dir=locale_dir)


# ---------------------------------------------------------------- cleaning

def test_normalize_collapses_all_whitespace():
    assert normalize("  Line one\n\tline\u00a0two \r\n") == "Line one line two"
    assert normalize("\n \t") == ""


def test_clean_pairs_filters_and_counts():
    def p(source, target, line):
        return Pair(source, target, "x.tsv", line)
    pairs = [
        p(" Hello\n world ", "Hallo\tWelt", 1),  # kept, normalised
        p("", "leer", 2),                         # empty
        p("   ", "leer", 3),                      # empty after normalising
        p("a" * 501, "b" * 501, 4),               # too long
        p("OK", "OK", 5),                         # identical
        p("Hi", "x" * 19, 6),                     # ratio 9.5
        p("Hello world", "Hallo Erde", 7),        # duplicate source (after normalising)
        p("Same", "Same", 8),                     # identical: does not claim "Same"
        p("Same", "Gleich", 9),                   # kept
        p("Hi", "x" * 18, 10),                    # ratio 9.0: kept
    ]
    stats = collections.Counter()
    kept = list(clean_pairs(pairs, stats=stats))
    assert kept == [p("Hello world", "Hallo Welt", 1), p("Same", "Gleich", 9),
                    p("Hi", "x" * 18, 10)]
    assert stats == {"kept": 3, "empty": 2, "too_long": 1, "identical": 2,
                     "length_ratio": 1, "duplicate_source": 1}


def test_clean_pairs_min_chars_and_arguments():
    stats = collections.Counter()
    kept = list(clean_pairs([Pair("ab", "abc", "o", 1), Pair("abc", "abcd", "o", 2)],
                            min_chars=3, stats=stats))
    assert [p.line for p in kept] == [2] and stats["too_short"] == 1
    with pytest.raises(ValueError, match="min_chars"):
        clean_pairs([], min_chars=0)
    with pytest.raises(ValueError, match="max_chars"):
        clean_pairs([], min_chars=5, max_chars=4)
    with pytest.raises(ValueError, match="max_length_ratio"):
        clean_pairs([], max_length_ratio=0.5)


# ---------------------------------------------------------------- splits

def synthetic(n, catalogs=1):
    return [Pair(f"sentence number {i}", f"Satz Nummer {i}", f"cat{i % catalogs}", i + 1)
            for i in range(n)]


def assignment(splits):
    return {pair: name for name, pairs in splits.items() for pair in pairs}


def test_hash_split_is_deterministic_stable_and_roughly_proportional():
    pairs = synthetic(2000)
    splits = split_pairs(pairs, dev_fraction=0.05, test_fraction=0.1)
    assert set(splits) == {"train", "dev", "test"}
    assert sorted(assignment(splits)) == sorted(pairs)  # a partition
    assert 60 <= len(splits["dev"]) <= 140 and 150 <= len(splits["test"]) <= 250
    assert splits == split_pairs(list(pairs), dev_fraction=0.05, test_fraction=0.1)
    # A pair's split does not depend on the rest of the corpus or its order.
    subset = random.Random(0).sample(pairs, 300)
    full = assignment(splits)
    assert all(full[p] == name for p, name in
               assignment(split_pairs(subset, dev_fraction=0.05, test_fraction=0.1)).items())
    # Whitespace variants of a source share its split; the salt draws another split.
    variant = Pair("  sentence  number 7\n", "x", "other", 1)
    assert assignment(split_pairs(pairs + [variant], 0.05, 0.1))[variant] == full[pairs[7]]
    assert assignment(split_pairs(pairs, 0.05, 0.1, salt="v2")) != full


def test_hash_split_known_assignment():
    # Pins the rule itself: changing the hashing would move these.
    rule = describe_split_rule("hash", 0.5, 0.25, "")
    u = int.from_bytes(hashlib.sha256(b"\0Hello world").digest()[:8], "big") / 2**64
    expected = "test" if u < 0.25 else "dev" if u < 0.75 else "train"
    splits = split_pairs([Pair(" Hello  world", "Hallo Welt", "o", 1)], 0.5, 0.25)
    assert [name for name, pairs in splits.items() if pairs] == [expected]
    assert rule["hash"] == "sha256"


def test_catalog_split_holds_out_whole_catalogs():
    sizes = [10 + (7 * i) % 60 for i in range(40)]
    pairs = [Pair(f"s{c}-{k}", f"t{c}-{k}", f"catalog{c}", k + 1)
             for c, size in enumerate(sizes) for k in range(size)]
    splits = split_pairs(pairs, dev_fraction=0.1, test_fraction=0.1, by="catalog")
    origins = {name: {p.origin for p in split} for name, split in splits.items()}
    assert not origins["train"] & origins["dev"]
    assert not origins["train"] & origins["test"]
    assert not origins["dev"] & origins["test"]
    for name in ("dev", "test"):
        for origin in origins[name]:  # every pair of a held-out catalog is held out
            assert sum(p.origin == origin for p in splits[name]) == sizes[int(origin[7:])]
        target = 0.1 * len(pairs)
        assert 0.5 * target <= len(splits[name]) <= target + max(sizes) / 2
    assert splits == split_pairs(pairs, 0.1, 0.1, by="catalog")


def test_split_errors():
    with pytest.raises(CorpusError, match="empty corpus"):
        split_pairs([])
    one_big_catalog = synthetic(1000, catalogs=1)
    with pytest.raises(CorpusError, match=r"(dev|test) split is empty .*by=.catalog. holds out whole catalogs"):
        split_pairs(one_big_catalog, by="catalog")
    assert split_pairs(one_big_catalog, 0, 0, by="catalog")["train"] == one_big_catalog
    assert len(split_pairs(synthetic(5))["train"]) >= 1  # tiny corpora may leave splits empty
    with pytest.raises(ValueError, match="by must be"):
        split_pairs(synthetic(5), by="random")
    with pytest.raises(ValueError, match="below 1"):
        split_pairs(synthetic(5), 0.6, 0.5)
    with pytest.raises(ValueError, match="test_fraction"):
        describe_split_rule("hash", 0.1, -0.1, "")


def test_describe_split_rule_is_json():
    for by in ("hash", "catalog"):
        rule = describe_split_rule(by, 0.02, 0.03, "salt")
        assert json.loads(json.dumps(rule)) == rule
        assert rule["by"] == by and rule["test_fraction"] == 0.03 and rule["salt"] == "salt"
        assert rule["rule"]


# ---------------------------------------------------------------- files

def test_write_tsv_round_trip_and_checksum(tmp_path):
    pairs = list(clean_pairs([Pair("Line one\nline two", "Zeile\teins", "o", 1),
                              Pair("Size", "Größe", "o", 2)]))
    path = tmp_path / "out" / "train.tsv"
    assert write_tsv(path, pairs) == 2
    assert path.read_bytes() == "Line one line two\tZeile eins\nSize\tGröße\n".encode()
    assert source_target(read_tsv(path)) == source_target(pairs)
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    write_tsv(path, [])
    assert sha256_file(path) == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_write_tsv_refuses_separators_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.tsv"
    with pytest.raises(CorpusError, match=r"^x\.po:7: .*target holds the separator '\\t'"):
        write_tsv(path, [Pair("a", "b", "x.po", 6), Pair("a", "b\tc", "x.po", 7)])
    assert list(tmp_path.iterdir()) == []


def test_public_api():
    assert set(corpus.__all__) >= {
        "Pair", "CorpusError", "read_tsv", "read_parallel", "read_po", "read_mo",
        "read_gettext", "read_po_files", "normalize", "clean_pairs", "split_pairs",
        "write_tsv", "sha256_file", "describe_split_rule"}
    assert issubclass(CorpusError, ValueError)
    assert Pair._fields == ("source", "target", "origin", "line")


# ---------------------------------------------------------------- system catalogs

SYSTEM_DE = Path("/usr/share/locale/de/LC_MESSAGES")


@pytest.mark.skipif(not any(SYSTEM_DE.glob("*.mo")),
                    reason=f"no German gettext catalogs in {SYSTEM_DE}")
def test_real_german_catalogs():
    stats = collections.Counter()
    pairs = list(clean_pairs(read_gettext("de", stats=stats), stats=stats))
    assert len(pairs) > 1000
    assert stats["unreadable_catalogs"] == 0
    for pair in pairs:
        for text in (pair.source, pair.target):
            assert "\t" not in text and "\n" not in text and "\ufffd" not in text
