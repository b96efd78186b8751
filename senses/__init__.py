"""
What a Backpack's sense vectors mean, measured. One module per analysis, each with its
computation, one `run(inputs)` from the record every analysis reads (analysis_inputs.py: the
model, tokenizer, data, languages, gold senses, baselines and options) to its result dict, the
JSON of senses.json (writing its CSV and PNG files), what it needs (NEEDS: 'senses', a Backpack;
'gold', gold senses; 'heldout', the held-out text of --split), TITLE, `markdown`, its section of
senses.md, and for those demo.py's report quotes, `headline`. sense_visualisation.py builds the
record once and runs them in turn; a new analysis is one module and one line in its ANALYSES:

    projection    the tokens each sense vector votes for through the output embedding
    alignment     whether sense k of a word means what sense k of its translation means
    usage         how much each sense serves the predictions in each language
    probe         whether the senses tell the meanings of a polysemous word apart (gold senses)
    similarity    how the senses track human word similarity, beside a GPT-2's embeddings
    intervention  what zeroing the sense that carries a meaning does to the predictions

Shared: analysis_inputs.py (the record), vectors.py (a word's senses, the contributions c_ik, the
vectors read at an annotated occurrence), word_lists.py (the words to look at), gold.py (the gold
annotation and the held-out text it annotates), similarity_datasets.py (Multi-SimLex and word-pair
CSVs), word_tokens.py (where a word sits among the tokens), lexicons.py (a translation lexicon per
pair of languages), report.py (p-values and intervals as text, the whole of senses.md). The
browser explorer (explore.py): explorer.py holds its views, explorer_checks.py the checks of what
was typed, explorer_page.py the HTML.
"""


class Skipped(Exception):
    """An analysis that does not apply to this checkpoint or data; the message says why."""
