"""configurator.py: config files, then --key=value overrides, with clear errors for mistakes."""

import pytest

from configurator import ConfigError, configure


def defaults():
    return dict(
        out_dir='out',
        batch_size=12,
        learning_rate=6e-4,
        compile=False,
        list_of_datasets=['europarl', 'multiun'],
        wandb_run_name='run',
        peak=None,
    )


def test_overrides_parse_python_values():
    ns = defaults()
    config = configure(
        ns,
        [
            '--batch_size=32',
            '--learning_rate=1e-3',
            '--compile=True',
            "--list_of_datasets=['demo']",
            '--out_dir=out-bkp-small-16',
            '--wandb_run_name=123',
        ],
    )
    assert ns['batch_size'] == 32 and ns['learning_rate'] == 1e-3 and ns['compile'] is True
    assert ns['list_of_datasets'] == ['demo'] and ns['out_dir'] == 'out-bkp-small-16'
    assert ns['wandb_run_name'] == '123'  # a string key keeps its text as it is
    assert config == ns


def test_int_is_accepted_for_float_and_lists_from_commas():
    ns = defaults()
    configure(ns, ['--learning_rate=1', '--list_of_datasets=europarl,multiun'])
    assert ns['learning_rate'] == 1.0 and isinstance(ns['learning_rate'], float)
    assert ns['list_of_datasets'] == ['europarl', 'multiun']


def test_config_file_then_command_line(tmp_path):
    f = tmp_path / 'cfg.py'
    f.write_text("import math\nbatch_size = 4 * 8\n_private = 3\nout_dir = 'from-file'\n")
    ns = defaults()
    configure(ns, [str(f), '--out_dir=from-cli'])
    assert ns['batch_size'] == 32 and ns['out_dir'] == 'from-cli'


def test_unknown_key_names_the_closest_valid_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'batchsize'.*Did you mean batch_size"):
        configure(defaults(), ['--batchsize=3'])
    f = tmp_path / 'cfg.py'
    f.write_text("learning_rat = 1e-3\n")
    with pytest.raises(ConfigError, match=r"learning_rat.*cfg.py.*Did you mean learning_rate"):
        configure(defaults(), [str(f)])
    # evaluation scripts accept a training config file: its unknown keys are ignored
    ns = defaults()
    configure(ns, [str(f)], strict_files=False)
    assert 'learning_rat' not in ns


def test_wrong_type_names_key_expected_type_and_value():
    with pytest.raises(ConfigError, match=r"'batch_size' expects int .* got 'big' of type str"):
        configure(defaults(), ['--batch_size=big'])
    with pytest.raises(ConfigError, match=r"'compile' expects bool .* got 1 of type int"):
        configure(defaults(), ['--compile=1'])
    with pytest.raises(ConfigError, match=r"'batch_size' expects int .* got 2.5"):
        configure(defaults(), ['--batch_size=2.5'])


def test_malformed_arguments(tmp_path):
    with pytest.raises(ConfigError, match=r"'--batch_size' has no value"):
        configure(defaults(), ['--batch_size'])
    with pytest.raises(ConfigError, match=r"config file 'nope.py' not found"):
        configure(defaults(), ['nope.py'])
    bad = tmp_path / 'bad.py'
    bad.write_text("batch_size = = 3\n")
    with pytest.raises(ConfigError, match=r"could not be run: SyntaxError"):
        configure(defaults(), [str(bad)])


def test_the_shipped_configs_are_valid():
    """Every config file in config/ runs against train.py's keys and ranges (read from train.py's
    source)."""
    import ast
    import glob
    import os

    import configurator
    from common import checkpoint
    from model import MODEL_CLASSES

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tree = ast.parse(open(os.path.join(root, 'train.py')).read())
    train_defaults = {}
    names = {
        **vars(configurator),
        'MODEL_CLASSES': MODEL_CLASSES,
        'default_device': lambda: 'cpu',
        'os': os,
        'checkpoint_path': checkpoint.checkpoint_path,
        'CKPT_NAME': checkpoint.CKPT_NAME,
    }
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == 'config':
                break  # the defaults end where the configuration is read
            train_defaults[node.targets[0].id] = eval(
                compile(ast.Expression(node.value), 'train.py', 'eval'), names
            )
    ranges = train_defaults.pop('ranges')
    assert 'grad_clip' in ranges and len(ranges) > 20
    configs = sorted(glob.glob(os.path.join(root, 'config', '*.py')))
    assert len(configs) >= 6
    for path in configs:
        configure(dict(train_defaults), [path], ranges)


def test_ranges_report_every_problem_at_once_with_the_valid_range():
    from configurator import at_least, at_most, below, between, non_empty, one_of

    ns = dict(defaults(), warmup_iters=10, lr_decay_iters=100, split='test', top_k=200)
    ranges = dict(
        batch_size=at_least(1),
        learning_rate=at_least(0) & at_most(1),
        split=one_of('val', 'test'),
        warmup_iters=at_least(0) & below('lr_decay_iters'),
        out_dir=non_empty(),
        top_k=at_least(0).or_none(),
        compile=one_of(True, False),
    )
    configure(dict(ns), ['--top_k=None'], ranges)  # all valid
    with pytest.raises(ConfigError) as e:
        configure(
            dict(ns),
            [
                '--batch_size=0',
                '--learning_rate=1e999',
                '--split=train',
                '--warmup_iters=100',
                '--out_dir=',
                '--top_k=-1',
            ],
            ranges,
        )
    message = str(e.value)
    assert '6 value(s) out of range' in message
    for piece in (
        "--batch_size=0: must be >= 1",
        "--learning_rate=inf: must be >= 0 and <= 1",
        "--split='train': must be one of 'val', 'test'",
        "--warmup_iters=100: must be >= 0 and < lr_decay_iters (the value of --lr_decay_iters, 100)",
        "--out_dir='': must be not empty",
        "--top_k=-1: must be >= 0, or None",
    ):
        assert piece in message
    with pytest.raises(ConfigError, match=r"--batch_size=None: must be >= 1"):
        configure(dict(ns), ['--batch_size=None'], ranges)  # None only where the range says so
    assert between(0, 1, high_open=True).accepts(0.5, {}) and not between(0, 1, high_open=True).accepts(
        1.0, {}
    )


def test_a_list_that_must_name_each_item_once():
    from configurator import distinct

    ns = {'list_of_datasets': [], 'out_dirs': []}
    ranges = dict(list_of_datasets=distinct(), out_dirs=distinct())
    assert configure(dict(ns), ['--list_of_datasets=europarl,multiun'], ranges)['list_of_datasets'] == [
        'europarl',
        'multiun',
    ]
    with pytest.raises(
        ConfigError,
        match=r"--list_of_datasets=\['europarl', 'europarl'\]: must be a list "
        r"naming each item once",
    ):
        configure(dict(ns), ['--list_of_datasets=europarl,europarl'], ranges)


def test_only_names_the_script_assigns_are_keys(tmp_path):
    script = tmp_path / 'script.py'
    script.write_text("from os import sep as SEPARATOR\nbatch_size = 12\n")
    ns = {'__file__': str(script), 'SEPARATOR': '/', 'batch_size': 12}
    with pytest.raises(ConfigError, match=r"unknown key 'SEPARATOR'"):
        configure(dict(ns), ['--SEPARATOR=x'])
    assert configure(dict(ns), ['--batch_size=3']) == {'batch_size': 3}


def test_booleans_and_whole_numbers_are_read_as_people_write_them():
    ns = defaults()
    configure(ns, ['--compile=true', '--batch_size=6e1'])  # 6e5 is a common way to write max_iters
    assert ns['compile'] is True and ns['batch_size'] == 60 and isinstance(ns['batch_size'], int)
    configure(ns, ['--compile=FALSE', '--batch_size=5.0'])
    assert ns['compile'] is False and ns['batch_size'] == 5


def test_a_wrong_type_says_how_to_write_it_and_shows_the_current_value(tmp_path):
    with pytest.raises(ConfigError, match=r"got 'yes' .*: write --compile=True or --compile=False$"):
        configure(defaults(), ['--compile=yes'])
    # the value checked against is the one an earlier argument set, not the script's default
    with pytest.raises(
        ConfigError,
        match=r"'batch_size' expects int \(current value 4, default 12\) but got 2.5 "
        r".*: write a whole number, e.g. --batch_size=2 or --batch_size=3$",
    ):
        configure(defaults(), ['--batch_size=4', '--batch_size=2.5'])
    f = tmp_path / 'cfg.py'
    f.write_text("compile = 'yes'\n")
    with pytest.raises(ConfigError, match=r"in .*cfg.py\): write compile = True or compile = False$"):
        configure(defaults(), [str(f)])


def test_an_argument_with_one_dash_or_a_missing_config_file_says_what_was_meant(tmp_path):
    with pytest.raises(ConfigError, match=r"'-batch_size=5' is not a config file.*write --batch_size=5$"):
        configure(defaults(), ['-batch_size=5'])
    with pytest.raises(
        ConfigError,
        match=r"config file 'config/train_mini16.py' not found .*"
        r"Did you mean \S*config/train_mini_16.py",
    ):
        configure(defaults(), ['config/train_mini16.py'])
    (tmp_path / 'my_run.py').write_text("batch_size = 3\n")
    with pytest.raises(ConfigError, match=r"Did you mean .*my_run.py"):
        configure(defaults(), [str(tmp_path / 'my_runn.py')])
