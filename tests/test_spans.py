"""Protected spans: what is protected, masking round trips, and the graph twin."""

import random

import pytest
import tensorflow as tf

from translate import masking, spans


@pytest.mark.parametrize("text, expected", [
    ("Open %s and %(name)s, {0} {count} ${HOME} $PATH %{user} @GPG@ %%",
     ["%s", "%(name)s", "{0}", "{count}", "${HOME}", "$PATH", "%{user}", "@GPG@", "%%"]),
    ("Click <b>here</b> or <a href=\"mailto:%(email)s\">mail</a><br/><br>",
     ["<b>", "</b>", "<a href=\"mailto:%(email)s\">", "</a>", "<br/>", "<br>"]),
    ("<span foreground='red' weight=bold>x</span> <SMALL>y</SMALL>",
     ["<span foreground='red' weight=bold>", "</span>", "<SMALL>", "</SMALL>"]),
    ("<guilabel id=\"intro\">Intro</guilabel> <gui/> <menu>", ["<guilabel id=\"intro\">",
                                                             "</guilabel>", "<gui/>"]),
    ("<!-- keep -->Text", ["<!-- keep -->"]),
    ("Tom &amp; Jerry&#160;and&#xA0;more", ["&amp;", "&#160;", "&#xA0;"]),
    ("See https://example.com/a?b=1&c=%(x)s. Or www.gnu.org, ftp://x.org/y",
     ["https://example.com/a?b=1&c=%(x)s", "www.gnu.org", "ftp://x.org/y"]),
    ("Write to bugs@example.org or mailto:me@x.de.", ["bugs@example.org", "mailto:me@x.de"]),
    ("one\ntwo\tthree  four   five", ["\n", "\t", "  ", "   "]),
    ("Hello {{ user.name }} {% trans %} {{x}} {{literal}}",
     ["{{ user.name }}", "{% trans %}", "{{x}}", "{{literal}}"]),
    ("an old ｟3｠ stays", ["｟3｠"]),
])
def test_each_span_type_is_found(text, expected):
    assert spans.find_spans(text) == expected


@pytest.mark.parametrize("text", [
    "<file> and <Datei> or <new-branch>",    # usage syntax is translated
    "<a href=\"x\" unclosed and < b >",      # malformed markup
    "100% done, 50% off, costs $5",
    "a < b > c and x & y; z &w",
    "email at example.org, not an @address",
])
def test_prose_and_malformed_markup_are_text(text):
    assert spans.find_spans(text) == []
    assert spans.mask(text).text == spans.clean(text)


def test_ends_are_kept_apart_and_come_back_exactly():
    masked = spans.mask("\n  Usage: %s [OPTION]\n\n")
    assert (masked.lead, masked.trail) == ("\n  ", "\n\n")
    assert masked.text == "Usage: ｟1｠ [OPTION]"
    assert spans.unmask("Aufruf: ｟1｠ [OPTION]", masked).text == "\n  Aufruf: %s [OPTION]\n\n"


def test_reordered_sentinels_put_each_span_back_by_index():
    masked = spans.mask("Copy %(src)s to %(dst)s")
    back = spans.unmask("Nach ｟2｠ kopieren: ｟1｠", masked)
    assert back.ok and back.text == "Nach %(dst)s kopieren: %(src)s"


@pytest.mark.parametrize("translation, missing, repeated, invented", [
    ("｟1｠ nur", ("</b>",), (), ()),
    ("｟1｠｟1｠x｟2｠", (), ("<b>",), ()),
    ("｟1｠x｟2｠ ｟7｠", (), (), ("｟7｠",)),
    ("｟1｠x", ("</b>",), (), ()),
])
def test_dropped_repeated_and_invented_sentinels_are_caught(translation, missing, repeated,
                                                            invented):
    back = spans.unmask(translation, spans.mask("<b>x</b>"))
    assert not back.ok
    assert (back.missing, back.repeated, back.invented) == (missing, repeated, invented)


def test_equal_spans_are_counted_by_their_text():
    masked = spans.mask("%s: %s (%d)")
    for translation in ("｟1｠: ｟2｠ (｟3｠)", "｟2｠: ｟1｠ (｟3｠)", "｟1｠: ｟1｠ (｟3｠)"):
        back = spans.unmask(translation, masked)
        assert back.ok and back.text == "%s: %s (%d)", translation
    back = spans.unmask("｟1｠: ｟3｠ (｟3｠)", masked)
    assert not back.ok and (back.missing, back.repeated) == (("%s",), ("%d",))


def test_spans_past_the_limit_stay_text():
    text = " ".join(f"%{i}$s" for i in range(1, 41))
    masked = spans.mask(text)
    assert len(masked.spans) == spans.MAX_SPANS
    assert masked.text.endswith("%33$s %34$s %35$s %36$s %37$s %38$s %39$s %40$s")
    assert spans.unmask(masked.text, masked).text == text


def test_training_pairs_share_sentinels_only_for_equal_spans():
    source, target = spans.mask_pair("Open %s in <b>%s</b>", "Öffne %s in <b>%s</b> %d")
    assert source == "Open ｟1｠ in ｟2｠｟3｠｟4｠"
    assert target == "Öffne ｟1｠ in ｟2｠｟3｠｟4｠ %d"  # %d has no partner: text


def _random_message(rng):
    pieces = ["Open", "file", "now", "%s", "%(name)s", "{0}", "<b>", "</b>", "\n", "\t", "  ",
              "&amp;", "https://x.org/a", "me@x.org", "<a href=\"%(u)s\">", "</a>", "{{ v }}",
              "$HOME", "ä", "(", ")", "50%", "<file>", "｟2｠"]
    words = [rng.choice(pieces) for _ in range(rng.randint(0, 12))]
    glue = [rng.choice(["", " ", " ", "\n", "  "]) for _ in words]
    return rng.choice(["", " ", "\n"]) + "".join(w + g for w, g in zip(words, glue))


def test_identity_translation_unmasks_to_the_original():
    rng = random.Random(7)
    for _ in range(2000):
        text = _random_message(rng)
        masked = spans.mask(text)
        back = spans.unmask(masked.text, masked)
        assert back.ok
        # Masking cleans only single separators; everything else comes back.
        expected = text if masked.text else ""
        assert back.text == expected, repr(text)


EDGE_CASES = [
    "", "   ", "\n", "plain text", " Open %s\n", "Copy %(src)s to %(dst)s",
    "Thank you for using %(site_name)s!\n%(site_domain)s",
    "<a href=\"mailto:%(email)s\">%(email)s</a>", "Tab\there  and\r\nthere",
    "Ünïcödé\u00a0nbsp \x07 bell \u2028 sep", "Line %u:\x00\x07\x1b for\tit\r\n\u0085\u2028",
    "\x00 lead NUL", "{{ user }} {% url 'x' %} {{literal}}",
    "an old ｟3｠ stays", "<file> <b>x</b> &amp; https://example.com/a.", "%%s %1$s %2$d",
    " ".join(["%s"] * 40) + "\n",
]


def test_the_graph_masks_as_python_does():
    graph = masking.mask(tf.constant(EDGE_CASES))
    for i, text in enumerate(EDGE_CASES):
        python = spans.mask(text)
        assert graph["text"][i].numpy().decode() == python.text, repr(text)
        assert [s.decode() for s in graph["spans"][i].numpy()] == list(python.spans)
        assert graph["lead"][i].numpy().decode() == python.lead, repr(text)
        assert graph["trail"][i].numpy().decode() == python.trail, repr(text)


def test_the_graph_unmasks_as_python_does():
    hypotheses = [
        (5, "Von ｟2｠ nach ｟1｠"), (5, "｟1｠ nur"), (5, "｟1｠｟1｠｟2｠"), (5, "｟1｠｟2｠｟9｠"),
        (6, "Danke ｟1｠!｟2｠｟3｠"), (7, "｟1｠｟2｠｟3｠"), (0, ""), (1, "x"), (3, "Text"),
        (2, "｟0｠ ｟99999｠ ｟1｠"), (14, " ".join(f"｟{i}｠" for i in range(32, 0, -1))),
        (16, " ".join(["｟1｠"] * 32)), (16, " ".join(["｟1｠"] * 31)), (15, "｟3｠ ｟2｠ ｟3｠"),
        (15, "｟2｠ ｟1｠ ｟3｠"), (7, "｟1｠｟2｠｟3｠｟4｠"), (7, "｟1｠｟3｠｟3｠｟4｠"),
    ]
    rows = tf.constant([r for r, _ in hypotheses])
    texts, ok = masking.unmask(tf.constant([h for _, h in hypotheses]),
                               masking.mask(tf.constant(EDGE_CASES)), rows)
    for j, (row, hypothesis) in enumerate(hypotheses):
        python = spans.unmask(hypothesis, spans.mask(EDGE_CASES[row]))
        assert texts[j].numpy().decode() == python.text, hypothesis
        assert bool(ok[j]) == python.ok, hypothesis


def test_the_graph_unmasks_sources_without_spans():
    texts, ok = masking.unmask(tf.constant(["Hallo", "｟1｠"]),
                               masking.mask(tf.constant(["Hello", "World"])))
    assert [t.decode() for t in texts.numpy()] == ["Hallo", ""] and ok.numpy().tolist() == [
        True, False]
