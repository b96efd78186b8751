"""sample.py: the same seed gives the same samples, for either model, and FILE: prompts. One run
in a process of its own, the others in the test's process (tests/in_process.py)."""

from in_process import run_in_process
from tiny_text_corpus import run_script, tiny_checkpoint


def test_samples_are_reproducible_with_a_fixed_seed(tmp_path_factory, tmp_path):
    backpack = tiny_checkpoint(tmp_path_factory)
    prompt = tmp_path / 'prompt.txt'
    prompt.write_text("Le comité soutient", encoding='utf-8')
    args = ['--num_samples=2', '--max_new_tokens=20', '--seed=7', '--device=cpu', '--top_k=50']
    from_file = run_script('sample.py', f'--out_dir={backpack}', f'--start=FILE:{prompt}', *args).stdout
    from_text = run_in_process(
        'sample.py', f'--out_dir={backpack}', '--start=Le comité soutient', '--model_name=backpack-lm', *args
    ).stdout
    assert from_file == from_text
    samples = from_file.split('---------------\n')
    assert len(samples) == 3 and samples[-1] == ''
    assert all(s.startswith("Le comité soutient") for s in samples[:2])
    assert samples[0] != samples[1]  # the generator moves on between samples


def test_gpt2_checkpoints_sample_too(tmp_path_factory):
    gpt = tiny_checkpoint(tmp_path_factory, 'gpt2')
    greedy = ['--num_samples=1', '--max_new_tokens=10', '--temperature=0', '--device=cpu']
    out = run_in_process('sample.py', f'--out_dir={gpt}', '--start=The council', *greedy).stdout
    assert out.startswith("The council") and out.endswith('---------------\n')


def test_an_empty_prompt_file_and_identical_greedy_samples_are_said(tmp_path_factory, tmp_path):
    """Both were silent: an empty file sampled from a new line, and greedy decoding printed the
    same sample num_samples times."""
    gpt = tiny_checkpoint(tmp_path_factory, 'gpt2')
    empty = tmp_path / 'empty.txt'
    empty.write_text('')
    out = run_in_process(
        'sample.py',
        f'--out_dir={gpt}',
        f'--start=FILE:{empty}',
        '--num_samples=3',
        '--max_new_tokens=10',
        '--temperature=0',
        '--device=cpu',
    ).stdout
    assert f"note: the prompt file {empty} holds no text: the samples start from a new line" in out
    assert "the 3 samples would be the same: printing one" in out
    assert out.count('---------------\n') == 1


def test_sense_scale_steers_a_backpack_and_is_refused_for_gpt2(tmp_path_factory):
    backpack = tiny_checkpoint(tmp_path_factory)
    greedy = [
        '--num_samples=1',
        '--max_new_tokens=12',
        '--temperature=0',
        '--device=cpu',
        '--start=The committee',
    ]
    sampled = [
        '--num_samples=2',
        '--max_new_tokens=30',
        '--temperature=1.0',
        '--seed=3',
        '--device=cpu',
        '--start=The committee supports the budget',
    ]
    plain = run_in_process('sample.py', f'--out_dir={backpack}', *sampled).stdout
    # single tokens: a word of several tokens is refused (senses.intervention.word_scale_tokens)
    steered = run_in_process(
        'sample.py', f'--out_dir={backpack}', *sampled, '--sense_scale=budget:*;the:*'
    ).stdout
    lines = steered.split('\n')
    assert lines[0].startswith('scaling senses all of budget')
    # same seed, other distributions: removing those senses changes the continuations
    assert '\n'.join(l for l in lines if not l.startswith('scaling senses')) != plain
    gpt = tiny_checkpoint(tmp_path_factory, 'gpt2')
    refused = run_in_process(
        'sample.py', f'--out_dir={gpt}', *greedy, '--sense_scale=committee:*', check=False
    )
    assert refused.returncode != 0 and 'need a Backpack checkpoint' in refused.stderr
