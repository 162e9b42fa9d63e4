"""Catalog work: `translate po` fills the untranslated entries of a gettext
catalog through an exported model.

The model is an export of `translate export` (a SavedModel version
directory, or a model directory whose highest numbered version is taken, as
TF Serving serves it), loaded the way TF Serving runs it
(`translate.exported`). Nothing of the training run is needed.

What is filled, and how:

- Only untranslated messages: an empty `msgstr` (every `msgstr[i]` empty for
  a plural entry). Translated and fuzzy entries, obsolete entries (`#~`),
  the header and every comment are kept as they were; a plural entry with
  some forms translated and others not is kept too (counted in
  `partial_plurals`), so that no translator's work is overwritten.
- Every suggestion, the memory's and the model's, must pass before it is
  written. This package's own rules: it is not empty; its placeholders are
  the message's (`translate.placeholders.same_placeholders`: the same
  multiset, order free), since a lost `%s` crashes or misleads the program
  at run time; the export did not flag it (`format_ok` of
  `translate_n_best`: a protected span of the message did not come back
  exactly once, or the message was longer than the model reads); it can
  be written as it is (the catalog's declared charset encodes it, and it
  holds no control character that a .po string cannot escape, such as
  U+0007; tabs, line breaks and the like are escaped). And
  Translate Toolkit's checks, those `pofilter` runs (`translate.checks`:
  printf, brace fields, variables, tags, escapes, line breaks, tabs,
  brackets, numbers, URLs, e-mails, whitespace at the ends, double spaces,
  and accelerators with a known marker), for the catalog's `Language`. And,
  for an entry with a format flag (`c-format`, `python-format`, ...),
  GNU gettext's `msgfmt --check-format` where it is installed
  (`translate.msgfmt`): the check a translator's build runs.
- The memories first, best first, and the first offer that passes every
  check is taken (one that fails is counted in `catalog_rejected` or
  `memory_rejected`, and the next is tried): the catalog memory
  (`translate.localize.catalog_memory`: the catalog's own translated,
  non-fuzzy entries and those of `--memory-po` catalogs; exact matches,
  this context first, then near matches repaired, then similar messages),
  then the corpus memory's match where it is usable
  (`translate.memory.usable`: similar enough, the same placeholders); a
  message no memory fills goes to the model. The similarity threshold of
  both memories' fuzzy matches is the one given, or, as `translate evaluate
  --memory` does, the one that maximises dev chrF of memory + this exported
  model on the memory corpus's dev split, chosen once per export and memory
  corpus and then read from the user cache (`translate.assist.cached_threshold`,
  `translate.cache`); without a corpus memory or a threshold, the catalog
  memory offers exact and near matches only.
- The model gives each message its hypotheses, best first (the export's
  `translate_n_best`; one, from the signature asked for, when the export
  has no n-best signature or greedy search is asked for). The first that
  passes is written. When none passes, the entry stays untranslated and is
  counted under the worst problem of the best hypothesis: `kept_placeholders`
  (its msgid listed in `placeholder_msgids`), `kept_format`, `kept_msgfmt`, `kept_empty`,
  `kept_unwritable`, or `kept_failed_checks` (only the toolkit's checks
  failed; msgid in `check_msgids`); `kept_checks` counts, per check, the
  kept entries whose best hypothesis failed that check.
- Each filled entry is flagged `fuzzy` (a draft for a translator to review;
  msgfmt leaves fuzzy entries out of the .mo) and gets a translator comment
  saying where the draft came from, after any comment it had:
  `machine translation: memory, similarity 0.87`,
  `machine translation: model gru-keras translator/3 (translate_n_best)`,
  or, when a hypothesis after the first was taken,
  `machine translation: model gru-keras translator/3 (translate_n_best,
  hypothesis 2 of 4)`.
- A message of two sentences or lines or more is translated segment by
  segment (`translate.localize.segments`: split at line breaks and sentence
  ends, never inside a protected span), the segments' translations joined
  with the message's own separators: that candidate comes first, the whole
  message's hypotheses after it (`segments_first`; on the dev split such
  messages score 1.6-9 chrF higher so). A message none of whose candidates
  passes (a help text of several paragraphs, mostly: the export cuts its
  input at `max_source_length` pieces) is translated again in segments if
  it was not already. The joined text must pass every rule above, and its
  comment says `(translate_n_best, in 3 segments)`. Counted in
  `by_segments`; an entry whose segments fail too is counted as kept, under
  its whole message's first hypothesis's problem.
- The model is given each message as it is written (an export cleans its
  input itself: one of this project's exports keeps the lines and the
  whitespace at the ends; older ones collapse whitespace, and then a
  multi-line message comes back on one line and fails the `newlines`
  check). The message's own leading and trailing whitespace (a final
  "\\n", indentation) is then made the translation's, as `msgfmt --check`
  requires: a no-op for a translation that has it already.
- Keyboard accelerators (`_File`, `&File`, `~File`) are handled where the
  catalog's convention is given (`accelerator`): the marker is removed
  before translation and put back after it, by the rules of
  `translate.accelerators`, and the `accelerators` check verifies it.
- A message context (`msgctxt`) is not shown to the model (it was trained
  without contexts, see `translate.corpus.gettext`); identical messages are
  translated once.
- Plural entries (`msgid_plural`): the model translates `msgid` for
  `msgstr[0]` and `msgid_plural` for every other form, as many forms as the
  header's `Plural-Forms: nplurals=N` (2, gettext's own default, when the
  header declares none); with `nplurals=1` (e.g. Japanese) the one form is
  the translation of `msgid_plural`, the text that must hold a count's
  placeholder. Each form is checked against its own source, and each takes
  its own first passing hypothesis.
  The corpus memory holds singular messages only; a plural entry comes from
  the catalog memory's exact match or from the model. A translator should
  review the model's most carefully: the model was
  trained on singular messages, and the forms beyond the second are copies.

Only the filled entries' lines change (`translate.localize.splice`).
`translate po` writes `--out`, or the catalog itself only with `--in-place`:
overwriting a translator's file is never the default.

`catalog_from_tsv` makes a catalog to try this on: the first messages of a
corpus split as a .po file with empty translations.
"""
