"""The model together with a translation memory, as translators use them.

Above a similarity threshold (chosen on the memory corpus's dev split with
this model's own dev translations, never on test) the memory's stored
translation is used, below it the model's; a match whose placeholders differ
from the message's is never used as it is (`translate.memory.usable`).
"""

import json
from pathlib import Path

from translate import evaluation, memory


def dev_threshold(translator, memory_corpus, run_dir=None):
    """The threshold maximising dev chrF of memory + this model.

    Cached in `run_dir/memory_threshold.json` (per memory corpus), since it
    costs a translation of the dev split.

    Args:
        translator: a `translate.inference.Translator`.
        memory_corpus: the corpus directory of the memory (its `dev.tsv`).
        run_dir: where to cache the choice, or None.

    Returns:
        The threshold, a float.
    """
    memory_corpus = Path(memory_corpus).resolve()
    cache = Path(run_dir) / "memory_threshold.json" if run_dir else None
    cached = json.loads(cache.read_text()) if cache and cache.exists() else {}
    if str(memory_corpus) in cached:
        return cached[str(memory_corpus)]
    sources, references = evaluation.read_tsv_pairs(memory_corpus / "dev.tsv")
    matches = memory.TranslationMemory.from_corpus(memory_corpus).lookup(sources)
    threshold = memory.choose_threshold(sources, references, matches,
                                        translator.translate(sources))
    if cache:
        cached[str(memory_corpus)] = threshold
        cache.write_text(json.dumps(cached, indent=1))
    return threshold


def translate_with_memory(translator, sources, memory_corpus, threshold,
                          progress=None):
    """`(outputs, origins)`: memory where usable, the model elsewhere."""
    tm = memory.TranslationMemory.from_corpus(memory_corpus)
    matches = tm.lookup(sources)
    model_outputs = translator.translate(sources, progress=progress)
    return memory.combine(sources, model_outputs, matches, threshold)
