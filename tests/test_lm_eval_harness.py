"""The lm-evaluation-harness model (evaluation/harness_model.py) and lm_eval_harness.py, offline:
local tasks (YAML and JSON-lines data written by the tests, no hub), on the shared tiny
checkpoints and a converted one. What is pinned is agreement with our own code: the rolling
log-likelihood of held-out text is minus perplexity_per_lang.py's NLL of it (the same windows),
a continuation's log-likelihood is the direct computation's, generation is greedy generation
without the cache, and a multiple-choice task's accuracy is the one computed directly.
Importing lm_eval's evaluator takes about 3-6 s of the first test here (once per process)."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from converted_models import converted_models
from in_process import run_in_process
from tiny_text_corpus import DATASET, tiny_checkpoint, tiny_data_root, torch_threads

pytest.importorskip('lm_eval', reason='lm-eval is not installed (pip install lm-eval==0.4.13)')

from lm_eval.api.instance import Instance  # noqa: E402

from common.errors import UserError  # noqa: E402
from common.sampling import predictable_tokens  # noqa: E402
from data.prepared import read_heldout_lines  # noqa: E402
from evaluation.harness_model import CheckpointLM  # noqa: E402

PAIRS = [
    ('The cats sit on the mat.', 'The cats sits on the mat.'),
    ('A dog runs in the park.', 'A dog run in the park.'),
    ('Le chat est petit.', 'Le chat est petite.'),
    ('Les femmes sont venues.', 'Les femmes sont venus.'),
    ('She has two books.', 'She have two books.'),
]


def request(kind, *args):
    return Instance(kind, {}, tuple(args), 0)


def harness_model(out_dir, **kwargs):
    return CheckpointLM(out_dir=out_dir, device='cpu', dtype='float32', **kwargs)


def direct_logprob(lm, context_ids, continuation_ids):
    """log P(continuation | context) from one unpadded forward pass, and greedy agreement."""
    ids = torch.tensor([context_ids + continuation_ids])
    logits, _ = lm.model(ids[:, :-1], all_logits=True)
    logprobs = F.log_softmax(logits.float(), dim=-1)[0, len(context_ids) - 1 :]
    targets = torch.tensor(continuation_ids)
    greedy = logprobs.masked_fill(~predictable_tokens(lm.model, lm.tok), float('-inf')).argmax(-1)
    return logprobs.gather(-1, targets[:, None]).double().sum().item(), bool((greedy == targets).all())


def write_pairs_task(folder, pairs, name='tiny_pairs'):
    """A local minimal-pair task: JSON-lines with sentence_good and sentence_bad, each sentence
    scored whole after EOT (empty context, no delimiter)."""
    data = folder / f'{name}.jsonl'
    data.write_text(
        ''.join(json.dumps({'sentence_good': g, 'sentence_bad': b}) + '\n' for g, b in pairs),
        encoding='utf-8',
    )
    (folder / f'{name}.yaml').write_text(
        f"task: {name}\n"
        f"dataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data}\n  cache_dir: {folder / 'cache'}\n"
        f"test_split: test\n"
        f"output_type: multiple_choice\n"
        f'doc_to_text: ""\n'
        f'target_delimiter: ""\n'
        f"doc_to_target: 0\n"
        f'doc_to_choice: "{{{{[sentence_good, sentence_bad]}}}}"\n'
        f"metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
        f"metadata:\n  version: 1.0\n",
        encoding='utf-8',
    )
    return name


@pytest.fixture(scope='module')
def gpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory, 'gpt2')


@pytest.fixture(scope='module')
def backpack(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory)


@pytest.mark.parametrize('kind', ['gpt2', 'backpack-lm'])
def test_loglikelihood_rolling_is_perplexity_per_lang_nll(kind, tmp_path_factory, tmp_path):
    """The held-out text as one document: minus the NLL perplexity_per_lang.py reports for it
    (the same windows, forward passes and per-token NLLs; only the order of the float64 sum
    differs, hence 1e-12 relative)."""
    out_dir, data_root = tiny_checkpoint(tmp_path_factory, kind), tiny_data_root(tmp_path_factory)
    with torch_threads():
        run_in_process(
            'perplexity_per_lang.py', f'--out_dir={out_dir}', '--split=val', '--max_lines=20',
            '--device=cpu', '--dtype=float32', '--bootstrap_resamples=1', f'--report_dir={tmp_path}',
        )  # fmt: skip
        report = json.loads((tmp_path / 'perplexity.json').read_text())[DATASET]
        lm = harness_model(out_dir)
        for lang, metrics in report.items():
            text = '\n'.join(read_heldout_lines(data_root, DATASET, lang, 'val', 20))
            (loglikelihood,) = lm.loglikelihood_rolling([request('loglikelihood_rolling', text)])
            assert loglikelihood == pytest.approx(-metrics['nll_total'], rel=1e-12), lang
            assert lm.stride == metrics['stride'] and lm.block_size == metrics['block_size']


def test_loglikelihood_is_the_direct_computation(backpack):
    """Batched and padded, as scored one by one without padding: empty contexts (EOT alone),
    a context's trailing space moved to the continuation, and a context longer than the block
    size (its last tokens kept)."""
    long_context = ' '.join(['the cat sat on the mat'] * 12)
    cases = [
        ('', 'The cats sit.'),
        ('Le chat', ' est petit.'),
        ('The dog ', 'runs.'),
        (long_context, ' and slept.'),
    ]
    with torch_threads():
        lm = harness_model(backpack, batch_size=3)
        scored = lm.loglikelihood([request('loglikelihood', c, x) for c, x in cases])
        tok, eot = lm.tok, lm.tok.eot_token
        for (context, continuation), (logprob, greedy) in zip(cases, scored):
            stripped = context.rstrip(' ')
            moved = context[len(stripped) :] + continuation
            context_ids = [eot] + tok.encode(stripped)
            continuation_ids = ([eot] + tok.encode(stripped + moved))[len(context_ids) :]
            keep = lm.block_size + 1 - len(continuation_ids)  # the window's context tokens
            expected = direct_logprob(lm, context_ids[-keep:], continuation_ids)
            assert logprob == pytest.approx(expected[0], abs=1e-5) and greedy == expected[1]
        assert len(tok.encode(long_context)) > lm.block_size  # the long context was cut


@pytest.mark.parametrize('kind', ['gpt2', 'backpack-lm'])
def test_generate_until_is_greedy_generation_without_the_cache(kind, tmp_path_factory):
    """Same-length prompts batched together, a window sliding past the block size, and the
    continuation cut at the first stop string or end-of-text."""
    out_dir = tiny_checkpoint(tmp_path_factory, kind)
    # (the tiny models end capitalised prompts at once; lowercase ones run on, with repeats)
    prompts = [('the', []), ('The cat', ['.']), ('the city of the old river', ['rrr', 'sss'])]
    with torch_threads():
        lm = harness_model(out_dir, batch_size=2)
        texts = lm.generate_until(
            [request('generate_until', p, {'until': until, 'max_gen_toks': 40}) for p, until in prompts]
        )
        for (prompt, until), text in zip(prompts, texts):
            ids = [lm.tok.eot_token] + lm.tok.encode(prompt)
            out = lm.model.generate(
                torch.tensor([ids]), 40, temperature=0, use_cache=False, allowed=lm.allowed
            )[0, len(ids) :].tolist()
            if lm.tok.eot_token in out:
                out = out[: out.index(lm.tok.eot_token)]
            expected = lm.tok.decode(out)
            cuts = [expected.index(s) for s in until if s in expected]
            assert text == (expected[: min(cuts)] if cuts else expected), prompt
    assert len(texts[0]) > 5 and len(lm.tok.encode(prompts[2][0])) + 40 > lm.block_size


def test_multiple_choice_task_accuracy_is_the_direct_one(gpt, tmp_path):
    """A local minimal-pair task through lm_eval.simple_evaluate: its accuracy is the share of
    pairs whose grammatical sentence has the higher log-probability after EOT, computed directly."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    name = write_pairs_task(tmp_path, PAIRS)
    with torch_threads():
        lm = harness_model(gpt)
        results = lm_eval.simple_evaluate(
            model=lm,
            tasks=[name],
            task_manager=TaskManager(include_path=str(tmp_path), include_defaults=False),
        )
        eot = lm.tok.eot_token
        right = [
            direct_logprob(lm, [eot], lm.tok.encode(good))[0]
            > direct_logprob(lm, [eot], lm.tok.encode(bad))[0]
            for good, bad in PAIRS
        ]
    assert results['results'][name]['acc,none'] == pytest.approx(sum(right) / len(PAIRS), abs=1e-12)


def test_converted_checkpoints(tmp_path_factory):
    """A converted Backpack with rows past its tokenizer reads and generates only tokens; one
    whose tokenizer has an id it has no row for refuses the request that needs it."""
    built = converted_models(tmp_path_factory)
    with torch_threads():
        lm = harness_model(built['more_rows', 'backpack-lm'], data_root='')
        ((logprob, _),) = lm.loglikelihood([request('loglikelihood', '', 'the bank of the river')])
        assert math.isfinite(logprob) and logprob < 0
        (text,) = lm.generate_until([request('generate_until', 'the', {'max_gen_toks': 8})])
        assert isinstance(text, str)
        lm = harness_model(built['more_tokens', 'gpt2'])
        with pytest.raises(UserError, match='no row'):
            lm.loglikelihood([request('loglikelihood', 'the', ' budget')])


def test_script_writes_the_report_and_never_replaces_one(backpack, tmp_path):
    name = write_pairs_task(tmp_path, PAIRS)
    args = [
        f'--out_dir={backpack}', f'--tasks={name}', f'--include_path={tmp_path}', '--include_defaults=False',
        '--device=cpu', f'--report_dir={tmp_path / "report"}',
    ]  # fmt: skip
    with torch_threads():
        run_in_process('lm_eval_harness.py', *args)
    report = json.loads((tmp_path / 'report' / f'lm_eval_{name}.json').read_text())
    assert 0 <= report['results'][name]['acc,none'] <= 1
    assert report['produced_by']['out_dir'] == backpack
    assert name in (tmp_path / 'report' / f'lm_eval_{name}.md').read_text()
    again = run_in_process('lm_eval_harness.py', *args, check=False)
    assert again.returncode == 1 and '--overwrite=True' in again.stderr
    unknown = run_in_process('lm_eval_harness.py', *args[:1], '--tasks=tiny_pair', *args[2:], check=False)
    assert unknown.returncode == 1 and 'did you mean tiny_pairs' in unknown.stderr


def test_script_says_how_to_install_lm_eval(backpack, monkeypatch):
    monkeypatch.setitem(__import__('sys').modules, 'lm_eval', None)  # as if not installed
    result = run_in_process('lm_eval_harness.py', f'--out_dir={backpack}', '--tasks=x', check=False)
    assert result.returncode == 1 and 'pip install lm-eval==0.4.13' in result.stderr


def test_a_minimal_pair_task_gives_minimal_pairs_py_accuracy(backpack, tmp_path_factory, tmp_path):
    """The same pairs as a local harness task and through minimal_pairs.py: the same accuracy.
    Pairs: each held-out line against the next one (any pair tests the agreement; with unrelated
    sentences the accuracy is far from 0 and 1, so a scoring that differed would show)."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    lines = read_heldout_lines(tiny_data_root(tmp_path_factory), DATASET, 'en', 'val', 40)
    pairs = list(zip(lines, lines[1:]))
    name = write_pairs_task(tmp_path, pairs, name='en_lines')  # en_lines.jsonl: BLiMP's keys
    with torch_threads():
        harness = lm_eval.simple_evaluate(
            model=harness_model(backpack),
            tasks=[name],
            task_manager=TaskManager(include_path=str(tmp_path), include_defaults=False),
        )
        run_in_process(
            'minimal_pairs.py', f'--out_dir={backpack}', f'--pair_files={tmp_path / (name + ".jsonl")}',
            '--language=en', '--device=cpu', f'--report_dir={tmp_path / "report"}',
        )  # fmt: skip
    ours = json.loads((tmp_path / 'report' / 'minimal_pairs.json').read_text())['all']['en']  # one checkpoint
    assert (
        ours['pairs'] == len(pairs) >= 20 and ours['ties'] == 0 and 0.1 < ours['accuracy'] < 0.9
    )  # a tie: ours wrong, the harness's right
    assert harness['results'][name]['acc,none'] == pytest.approx(ours['accuracy'], abs=1e-12)
