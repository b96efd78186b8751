"""
senses.md as a whole and the pieces of text every analysis's section uses: p-values, intervals,
tokens. Each analysis writes its own section (senses/<analysis>.py, `markdown`) from its result
dict in senses.json, so the report can be rebuilt from the JSON alone.
"""

import math
import re


def token_label(text):
    """A token for a table: without its leading space; a piece inside a word (no leading space)
    is shown as '-piece'."""
    if text.startswith(' '):
        return text[1:] or '␣'
    return '-' + text if text else text


def format_p(value, n_permutations=None):
    """A p-value for a table; at the floor of a permutation test (1 / (n + 1)), '<= floor'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    if n_permutations and value <= 1 / (n_permutations + 1) + 1e-12:
        return f"<= {1 / (n_permutations + 1):.2g}"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.1e}"


def p_text(p, n_permutations):
    """'p = 0.03', or 'p <= 0.001' at the floor of a permutation test, for a figure's title."""
    text = format_p(p, n_permutations)
    return f"p {text}" if text.startswith('<') else f"p = {text}"


def format_ci(ci, fmt='.3f'):
    """An interval [low, high] for a table; '-' when there is none."""
    if not ci or ci[0] is None or (isinstance(ci[0], float) and math.isnan(ci[0])):
        return '-'
    return f"[{format(ci[0], fmt)}, {format(ci[1], fmt)}]"


# --- senses.md -----------------------------------------------------------------------------

def markdown_report(header, results, skipped, analyses, section_options=None, heading_level=1,
                    link_prefix=''):
    """The whole of senses.md: header (dict with 'title' and 'lines'), the result of each
    analysis run (senses.json's 'analyses') and {analysis: reason} for those skipped. analyses:
    {name: its module} in the order of the sections (each module has TITLE and markdown(result,
    **options)); section_options: {name: options} for a module's markdown, e.g.
    {'projection': {'n_words': 8}}.
    To embed it in another report: heading_level=2 makes the title a '##' heading (and every
    heading below one level deeper); link_prefix is put before each figure's file name (e.g.
    'senses/' when the other report sits one folder up)."""
    section_options = section_options or {}
    parts = [f"# {header['title']}\n", *(line + '\n' for line in header.get('lines', [])), '\n']
    for name, module in analyses.items():
        if name in results:
            parts.append(f"## {module.TITLE}\n\n")
            parts.append(module.markdown(results[name], **section_options.get(name, {})))
            parts.append('\n')
    if skipped:
        parts.append("## Skipped\n\n")
        parts.extend(f"- {analyses[name].TITLE if name in analyses else name}: {reason}\n"
                     for name, reason in skipped.items())
    text = ''.join(parts)
    if heading_level > 1:
        text = re.sub(r'^(#+) ', lambda m: '#' * (len(m.group(1)) + heading_level - 1) + ' ', text,
                      flags=re.MULTILINE)
    if link_prefix:
        text = re.sub(r'(!\[[^\]]*\]\()', lambda m: m.group(1) + link_prefix, text)
    return text
