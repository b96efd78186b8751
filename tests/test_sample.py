"""sample.py: the same seed gives the same samples, for either model, and FILE: prompts."""

from tiny_text_corpus import run_script, tiny_checkpoint


def test_samples_are_reproducible_with_a_fixed_seed(tmp_path_factory, tmp_path):
    backpack = tiny_checkpoint(tmp_path_factory)
    prompt = tmp_path / 'prompt.txt'
    prompt.write_text("Le comité soutient", encoding='utf-8')
    args = ['--num_samples=2', '--max_new_tokens=20', '--seed=7', '--device=cpu', '--top_k=50']
    from_file = run_script('sample.py', f'--out_dir={backpack}', f'--start=FILE:{prompt}', *args).stdout
    from_text = run_script('sample.py', f'--out_dir={backpack}', '--start=Le comité soutient',
                           '--model_name=backpack-lm', *args).stdout
    assert from_file == from_text
    samples = from_file.split('---------------\n')
    assert len(samples) == 3 and samples[-1] == ''
    assert all(s.startswith("Le comité soutient") for s in samples[:2])
    assert samples[0] != samples[1]  # the generator moves on between samples


def test_gpt2_checkpoints_sample_too(tmp_path_factory):
    gpt = tiny_checkpoint(tmp_path_factory, 'gpt2')
    greedy = ['--num_samples=1', '--max_new_tokens=10', '--temperature=0', '--device=cpu']
    out = run_script('sample.py', f'--out_dir={gpt}', '--start=The council', *greedy).stdout
    assert out.startswith("The council") and out.endswith('---------------\n')
