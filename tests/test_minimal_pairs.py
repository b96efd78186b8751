"""Minimal pairs: each file format read from files the test writes (BLiMP JSON-lines, MultiBLiMP
TSV, CLAMS lines, --columns with names or a label, gzip, malformed rows, --strict), the scores
equal to transformers' own log-probabilities for a converted GPT-2, a model built to prefer one
letter giving the accuracy it must, and the script end to end on the shared tiny checkpoints."""

import gzip
import json
import math

import pytest
import torch
from converted_models import convert, write_byte_tokenizer
from in_process import run_in_process
from tiny_text_corpus import tiny_checkpoint, torch_threads

from common.checkpoint import load_model
from common.errors import UserError
from evaluation.minimal_pairs import LACKED, NO_ROW, pair_accuracy, pair_reader, pair_tokens, score_pairs
from evaluation.pair_files import SkippedRow, parse_columns, read_pair_file
from evaluation.statistics import mcnemar_exact


def write(path, text, compress=False):
    if compress:
        with gzip.open(path, 'wt', encoding='utf-8') as f:
            f.write(text)
    else:
        path.write_text(text, encoding='utf-8')
    return str(path)


def blimp_line(good, bad, **extra):
    return json.dumps({'sentence_good': good, 'sentence_bad': bad, 'UID': 'agreement', **extra}) + '\n'


# --- files ----------------------------------------------------------------------------------


def test_blimp_json_lines_gzip_and_a_malformed_row(tmp_path):
    text = (
        blimp_line(
            'The cats sleep.',
            'The cats sleeps.',
            linguistics_term='s-v_agreement',
            one_prefix_prefix='The cats',
            one_prefix_word_good='sleep',
            one_prefix_word_bad='sleeps',
        )
        + '{"sentence_good": "A dog barks."}\n'
        + blimp_line('Même là.', 'Même la.')
    )
    path = write(tmp_path / 'blimp_en.jsonl.gz', text, compress=True)
    skipped = []
    pairs = read_pair_file(path, languages=['en', 'fr'], skipped=skipped)
    assert [(p.line, p.language, p.group) for p in pairs] == [
        (1, 'en', 's-v_agreement'),
        (3, 'en', 'agreement'),
    ]
    assert pairs[0].has_one_prefix and (pairs[0].prefix, pairs[0].word_bad) == ('The cats', 'sleeps')
    assert pairs[1].good == 'Même là.' and not pairs[1].has_one_prefix
    assert skipped == [SkippedRow(path, 2, 'malformed row', 'no text in column(s) sentence_bad')]
    with pytest.raises(UserError, match='line 2: no text in column'):
        read_pair_file(path, languages=['en'])  # --strict=True


def test_multiblimp_tsv_languages_from_the_row(tmp_path):
    text = 'sen\tverb\twrong_sen\tphenomenon\tlang\nLe chat dort\tdort\tLe chat dorment\tSV-#\tfra\n'
    text += 'Die Katze schläft\tschläft\tDie Katze schlafen\tSV-#\tdeu\nbroken\trow\n'
    skipped = []
    pairs = read_pair_file(write(tmp_path / 'data.tsv', text), skipped=skipped)
    assert [(p.language, p.group, p.line) for p in pairs] == [('fr', 'SV-#', 2), ('de', 'SV-#', 3)]
    assert [s.line for s in skipped] == [4] and 'fields where the header has' in skipped[0].reason


def test_clams_lines_pair_a_true_line_with_the_false_line_after_it(tmp_path):
    text = 'True\tles chats dorment .\nFalse\tles chats dort .\nFalse\tles chat dort .\n'
    text += 'True\tle chien court .\nTrue\tle chien dort .\nFalse\tle chien dorment .\nTrue\tseul .\n'
    skipped = []
    pairs = read_pair_file(
        write(tmp_path / 'fr_simple_agrmt.txt', text), languages=['en', 'fr'], skipped=skipped
    )
    assert [(p.line, p.bad, p.language, p.group) for p in pairs] == [
        (1, 'les chats dort .', 'fr', 'fr_simple_agrmt'),
        (5, 'le chien dorment .', 'fr', 'fr_simple_agrmt'),
    ]
    assert [(s.line, s.reason.split(' without')[0]) for s in skipped] == [
        (3, 'a False line'),
        (4, 'a True line'),
        (7, 'a True line'),
    ]


def test_columns_by_name_and_by_label(tmp_path):
    csv_text = 'ok,ko,kind\n"Il est, dit-on, là",Il sont là,agreement\n'
    pairs = read_pair_file(
        write(tmp_path / 'pairs.csv', csv_text), parse_columns('good:ok,bad:ko,group:kind'), language='fr'
    )
    assert [(p.good, p.bad, p.group, p.language) for p in pairs] == [
        ('Il est, dit-on, là', 'Il sont là', 'agreement', 'fr')
    ]
    labelled = 's1\ts2\tgold\nthe cat sleeps\tthe cat sleep\tfirst\nthe dogs runs\tthe dogs run\tsecond\n'
    labelled += 'a b\tb a\tnone\n'
    skipped = []
    pairs = read_pair_file(
        write(tmp_path / 'labels.tsv', labelled),
        parse_columns('a:s1,b:s2,label:gold'),
        good_label='first',
        language='en',
        skipped=skipped,
    )
    assert [(p.good, p.bad) for p in pairs] == [
        ('the cat sleeps', 'the cat sleep'),
        ('the dogs run', 'the dogs runs'),
    ]
    assert "label 'none' is neither --good_label='first' nor 'second'" in skipped[0].reason
    with pytest.raises(UserError, match='--good_label'):
        read_pair_file(str(tmp_path / 'labels.tsv'), parse_columns('a:s1,b:s2,label:gold'))
    for bad in ('good:a', 'good:a,bad:b,label:c', 'nice:a,bad:b'):
        with pytest.raises(UserError, match='--columns'):
            parse_columns(bad)
    with pytest.raises(UserError, match='none of the formats'):
        read_pair_file(csv_text and write(tmp_path / 'plain.csv', csv_text))


def test_exact_mcnemar():
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_exact(10, 2) == pytest.approx(2 * sum(math.comb(12, i) for i in range(3)) / 2**12)


# --- scoring --------------------------------------------------------------------------------

transformers = pytest.importorskip('transformers')


def converted_gpt2(tmp_path, prefer=None):
    """(out_dir, transformers model, tokenizers.Tokenizer) of a random GPT-2 with 256 rows and a
    byte tokenizer of 257 ids ('q' last: no row for it), converted by convert_checkpoint.py;
    prefer: a character every position predicts e^5 times more likely than any other."""
    from tokenizers import Tokenizer

    hf = tmp_path / 'hf'
    write_byte_tokenizer(tmp_path / 'tokenizer.json', last='q')
    config = transformers.GPT2Config(
        n_embd=32, n_layer=2, n_head=4, n_positions=64, vocab_size=256, bos_token_id=0, eos_token_id=0
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config).eval()
    tok = Tokenizer.from_file(str(tmp_path / 'tokenizer.json'))
    if prefer:
        with torch.no_grad():  # the last hidden state is 100 e_0 whatever the input
            model.transformer.ln_f.weight.zero_()
            model.transformer.ln_f.bias.copy_(torch.nn.functional.one_hot(torch.tensor(0), 32) * 100.0)
            model.transformer.wte.weight[:, 0] = 0.0
            model.transformer.wte.weight[tok.token_to_id(prefer), 0] = 0.05
    model.save_pretrained(hf, safe_serialization=True)
    (hf / 'tokenizer.json').write_bytes((tmp_path / 'tokenizer.json').read_bytes())
    result = convert(str(hf), str(tmp_path / 'out'))
    assert result.returncode == 0, result.stderr
    return str(tmp_path / 'out'), model, tok


def scored(out_dir, pairs, batch_size=3):
    reader = pair_reader(out_dir)
    tokens = [pair_tokens(reader, p) for p in pairs]
    model, _ = load_model(out_dir)
    kept = [t for t in tokens if not isinstance(t, SkippedRow)]
    with torch_threads():
        return tokens, score_pairs(model, kept, batch_size=batch_size)


def test_scores_equal_transformers_log_probabilities(tmp_path):
    out_dir, reference, tok = converted_gpt2(tmp_path)
    lines = [
        blimp_line('The cats sleep.', 'The cats sleeps.', one_prefix_prefix='The cats',
                   one_prefix_word_good='sleep', one_prefix_word_bad='sleeps'),
        blimp_line('Les chiens dorment là-bas, près du feu.', 'Les chiens dort là-bas, près du feu.'),
        blimp_line('A man who the women see is tall.', 'A man who the women see are tall.'),
        blimp_line('be quiet!', 'be quiets!'),  # 'q': no row for it
        blimp_line('Yes.', 'No.'),
    ]  # fmt: skip
    pairs = read_pair_file(write(tmp_path / 'en_pairs.jsonl', ''.join(lines)), language='en')
    tokens, scores = scored(out_dir, pairs)
    assert isinstance(tokens[3], SkippedRow) and tokens[3].kind == NO_ROW and "'q'" in tokens[3].reason

    def reference_logprob(text, prefix=None):
        ids = [0] + tok.encode(prefix if prefix is not None else text).ids
        start = len(ids)
        if prefix is not None:
            ids += tok.encode(' ' + text).ids
        with torch.no_grad():
            logprobs = torch.log_softmax(reference(torch.tensor([ids])).logits[0].double(), dim=-1)
        first = 1 if prefix is None else start
        return sum(logprobs[t - 1, ids[t]].item() for t in range(first, len(ids)))

    for pair, score in zip([p for i, p in enumerate(pairs) if i != 3], scores):
        good, bad = reference_logprob(pair.good), reference_logprob(pair.bad)
        assert score.good == pytest.approx(good, abs=1e-5) and score.bad == pytest.approx(bad, abs=1e-5)
        assert score.correct == (good > bad)
    first = scores[0]
    assert first.prefix_good == pytest.approx(reference_logprob('sleep', 'The cats'), abs=1e-5)
    assert first.prefix_bad == pytest.approx(reference_logprob('sleeps', 'The cats'), abs=1e-5)
    _, one_at_a_time = scored(out_dir, pairs, batch_size=1)  # no padding
    assert [s.good for s in one_at_a_time] == pytest.approx([s.good for s in scores], abs=1e-5)


def test_a_model_that_prefers_one_letter_gives_the_known_accuracy(tmp_path):
    out_dir, _, _ = converted_gpt2(tmp_path, prefer='s')
    lines = [
        blimp_line('the cats run', 'the catx run'),  # good has the s: right
        blimp_line('he runs', 'he runx'),  # right
        blimp_line('she is', 'xhe is'),  # right
        blimp_line('it rux', 'it rus'),  # the bad one has the s: wrong
        blimp_line('a cat', 'a cab'),  # a tie: wrong, counted
    ]
    pairs = read_pair_file(write(tmp_path / 'pairs.jsonl', ''.join(lines)), language='en')
    _, scores = scored(out_dir, pairs)
    result = pair_accuracy(scores)
    assert (result.pairs, result.correct, result.ties) == (5, 3, 1)
    assert result.accuracy == 0.6 and result.accuracy_ci95[0] < 0.6 < result.accuracy_ci95[1]


# --- the script -----------------------------------------------------------------------------


def test_script_compares_checkpoints(tmp_path_factory, tmp_path):
    gpt, backpack = tiny_checkpoint(tmp_path_factory, 'gpt2'), tiny_checkpoint(tmp_path_factory)
    blimp = write(
        tmp_path / 'en_agreement.jsonl',
        blimp_line('the committee votes .', 'the committee vote .', linguistics_term='agreement')
        + blimp_line('the members vote .', 'the members votes .', linguistics_term='agreement')
        + 'not json\n',
    )
    clams = write(tmp_path / 'fr_clams.txt', 'True\tla commission vote .\nFalse\tla commission votent .\n')
    mb = 'sen\twrong_sen\tphenomenon\tlang\nle conseil vote .\tle conseil votent .\tSV-#\tfra\n'
    mb += 'der Rat stimmt .\tder Rat stimmen .\tSV-#\tdeu\n'
    multiblimp = write(tmp_path / 'data.tsv', mb)
    report = tmp_path / 'report'
    args = [f'--out_dirs={gpt},{backpack}', f'--report_dir={report}', '--device=cpu', '--batch_size=2']
    with torch_threads():
        result = run_in_process(
            'minimal_pairs.py', *args, f'--pair_files={tmp_path}/*.jsonl,{clams},{multiblimp}'
        )
    assert 'exact McNemar p =' in result.stdout
    results = json.loads((report / 'minimal_pairs.json').read_text())
    for ckpt in (gpt, backpack):
        assert results[ckpt]['all']['en']['pairs'] == 2 and results[ckpt]['all']['fr']['pairs'] == 2
        assert results[ckpt][f'file {blimp}']['en']['scope'] == 'file'
        assert results[ckpt]['phenomenon SV-#']['fr']['pairs'] == 1
    kinds = sorted(s['kind'] for s in results['skipped_pairs'])
    assert kinds == [LACKED, LACKED, 'malformed row']  # German, for each model
    [comparison] = results['comparisons']
    assert comparison['pairs'] == 4 and 0 <= comparison['mcnemar_p'] <= 1
    records = [
        json.loads(line) for line in (report / 'minimal_pairs_predictions.jsonl').read_text().splitlines()
    ]
    assert len(records) == 8 and {r['model'] for r in records} == {gpt, backpack}
    assert all(r['correct'] == (r['good_logprob'] > r['bad_logprob']) for r in records)
    for ext in ('md', 'csv', 'png'):
        assert (report / f'minimal_pairs.{ext}').stat().st_size > 0
    strict = run_in_process('minimal_pairs.py', *args, f'--pair_files={blimp}', '--strict=True', check=False)
    assert strict.returncode == 1 and 'line 3: not valid JSON' in strict.stderr
    bad = run_in_process('minimal_pairs.py', *args, f'--pair_files={blimp}', '--batch_size=0', check=False)
    assert bad.returncode == 1 and 'batch_size' in bad.stderr


def test_a_json_file_that_is_not_json_lines_is_named_as_such(tmp_path):
    """A pretty-printed JSON object (one object over many lines) is not JSON-lines: the message
    says so instead of listing the keys of an object it could not read."""
    path = write(tmp_path / 'pairs.json', '{\n  "sentence_good": "a",\n  "sentence_bad": "b"\n}\n')
    with pytest.raises(UserError, match='no line of it is a whole JSON object'):
        read_pair_file(path)
