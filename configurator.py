"""
nanoGPT-style configuration: a script's defaults are plain module-level names; config files
(Python, exec'd) override them, then --key=value arguments override the files. Used as

    config = configure(globals(), sys.argv[1:])

in train.py and the other scripts, e.g.

    python train.py config/train_small_16.py --out_dir=out-bkp-small-16 --model_name=backpack-lm

What it adds to nanoGPT's: an unknown key is an error naming the closest valid keys (a config
file that does not exist, the closest config files); a value of the wrong type is an error naming
the key, the expected type, the value and how to write it (a whole float such as 6e5 is accepted
for an int, true/false in any case for a bool); and a script states the valid range of its keys
once, next to the defaults, in a dict given to configure:

    eval_interval = 2000
    split = 'test'
    ranges = dict(eval_interval=at_least(1), split=one_of('val', 'test'))
    config = configure(globals(), sys.argv[1:], ranges)

Every value is checked against its range after the overrides, and every value out of range is
reported in one message (key, value, valid range) before the script does any work. A bound may be
the name of another key, and ranges combine with &: warmup_iters=at_least(0) & below('lr_decay_iters').
"""

import ast
import difflib
import inspect
import math
import os
import re

from common.errors import UserError, exit_on_user_error

CONFIG_TYPES = (bool, int, float, str, list, tuple, type(None))
CONFIG_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'config')


class ConfigError(UserError):
    """A mistake in a config file or a --key=value argument: its message says what to change. (A UserError: scripts end with its message.)"""

    def __init__(self, message):
        super().__init__(f"config error: {message}")


def config_keys(namespace):
    """The configurable names of a script: public module-level values of simple types that the
    script assigns itself (a constant it imports, e.g. CKPT_NAME, is not a configuration key)."""
    assigned = _assigned_names(namespace.get('__file__'))
    return [
        k
        for k, v in namespace.items()
        if not k.startswith('_')
        and isinstance(v, CONFIG_TYPES)
        and not callable(v)
        and (assigned is None or k in assigned)
    ]


def _assigned_names(path):
    """Names given a value by a top-level `name = ...` of the script at path (None: no script)."""
    if not path or not os.path.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    names = set()
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


# --- valid ranges ---------------------------------------------------------------------------


class Range:
    """A set of valid values: test(value, config) -> bool, and how to say it (e.g. '>= 1')."""

    def __init__(self, test, text, allow_none=False):
        self.test, self.text, self.allow_none = test, text, allow_none

    def __and__(self, other):
        return Range(lambda v, c: self.test(v, c) and other.test(v, c), f"{self.text} and {other.text}")

    def __or__(self, other):
        return Range(lambda v, c: self.test(v, c) or other.test(v, c), f"{self.text}, or {other.text}")

    def only_if(self, condition, text):
        """This range where condition(config) holds, any value elsewhere; text says where."""
        return Range(lambda v, c: not condition(c) or self.test(v, c), f"{self.text} {text}")

    def or_none(self):
        return Range(self.test, f"{self.text}, or None", allow_none=True)

    def accepts(self, value, config):
        if value is None:
            return self.allow_none
        return bool(self.test(value, config))


def _bound(bound, config):
    return config[bound] if isinstance(bound, str) else bound


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _comparison(op, symbol, bound):
    text = f"{symbol} {bound}" if not isinstance(bound, str) else f"{symbol} {bound} (the value of --{bound})"
    return Range(lambda v, c: _number(v) and op(v, _bound(bound, c)), text)


def at_least(bound):
    return _comparison(lambda v, b: v >= b, '>=', bound)


def at_most(bound):
    return _comparison(lambda v, b: v <= b, '<=', bound)


def greater_than(bound):
    return _comparison(lambda v, b: v > b, '>', bound)


def below(bound):
    return _comparison(lambda v, b: v < b, '<', bound)


def divisor_of(bound):
    """A whole number that divides bound (a number or, by name, another key's value)."""
    text = f"a divisor of {bound}" + (f" (the value of --{bound})" if isinstance(bound, str) else "")
    return Range(
        lambda v, c: _number(v) and v != 0 and _number(_bound(bound, c)) and _bound(bound, c) % v == 0, text
    )


def between(low, high, high_open=False):
    """low <= value <= high (value < high with high_open=True)."""
    text = f"{low} <= value {'<' if high_open else '<='} {high}"
    return Range(lambda v, c: _number(v) and low <= v and (v < high if high_open else v <= high), text)


def finite():
    return Range(lambda v, c: _number(v), "a finite number")


def one_of(*choices):
    return Range(lambda v, c: v in choices, "one of " + ', '.join(repr(x) for x in choices))


def non_empty():
    return Range(lambda v, c: len(v.strip() if isinstance(v, str) else v) > 0, "not empty")


def distinct():
    """A list whose items are all different: a dataset or a file named twice would be read and
    reported twice, as if it were two."""
    return Range(lambda v, c: len(set(v)) == len(v), "a list naming each item once")


def _with_values(text, config):
    """A range's text with the values of the keys it names: '(the value of --n_embd, 32)'."""
    return re.sub(
        r'\(the value of --(\w+)\)',
        lambda m: f"(the value of --{m[1]}, {config[m[1]]!r})" if m[1] in config else m[0],
        text,
    )


def check_ranges(config, ranges, problems=()):
    """Raise one ConfigError listing every value out of its range, and the problems (sentences
    about several keys) the script found itself; nothing when all is well."""
    problems = [
        f"--{key}={config[key]!r}: must be {_with_values(valid.text, config)}"
        for key, valid in ranges.items()
        if not valid.accepts(config[key], config)
    ] + list(problems)
    if problems:
        raise ConfigError(f"{len(problems)} value(s) out of range:\n  " + '\n  '.join(problems))


def _config_files_like(path):
    """The config files (*.py) with names closest to path: in the folder it names, and in the
    project's config/ folder."""
    folders = {os.path.relpath(CONFIG_FOLDER)} | ({os.path.dirname(path)} if os.path.dirname(path) else set())
    files = {
        os.path.normpath(os.path.join(folder, name))
        for folder in folders
        if os.path.isdir(folder)
        for name in os.listdir(folder)
        if name.endswith('.py')
    }
    return difflib.get_close_matches(os.path.normpath(path), sorted(files), n=3, cutoff=0.6)


def _unknown_key(key, keys, origin):
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return ConfigError(f"unknown key '{key}' ({origin}).{hint} Valid keys: {', '.join(sorted(keys))}")


def _checked(key, value, current, default, origin, on_command_line):
    """value converted to the type of the key's current value, or an error saying what was
    expected and how to write it."""
    if current is None or value is None:
        return value
    expected = type(current)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, float) and value.is_integer():
        return int(value)  # max_iters=6e5
    if expected is bool and isinstance(value, str) and value.lower() in ('true', 'false'):
        return value.lower() == 'true'
    if expected in (list, tuple) and isinstance(value, (list, tuple)):
        return expected(value)
    if expected in (list, tuple) and isinstance(value, str):
        return expected(v.strip() for v in value.split(',') if v.strip())  # --a=x,y
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    # a config file or an earlier argument may have set the value the new one was checked against
    shown = (
        f"default {default!r}" if current == default else f"current value {current!r}, default {default!r}"
    )
    message = (
        f"key '{key}' expects {expected.__name__} ({shown}) but got {value!r} of type "
        f"{type(value).__name__} ({origin})"
    )
    form = (lambda v: f"--{key}={v!r}") if on_command_line else (lambda v: f"{key} = {v!r}")
    if expected is bool:
        message += f": write {form(True)} or {form(False)}"
    elif expected is int:
        near = sorted({math.floor(value), math.ceil(value)}) if _number(value) else [current]
        message += f": write a whole number, e.g. {' or '.join(map(form, near))}"
    elif expected is float:
        message += f": write a number, e.g. {form(current)}"
    raise ConfigError(message)


def _parse_value(text):
    """'True' -> True, '3e-4' -> 0.0003, "['a','b']" -> list; anything else stays a string."""
    try:
        return ast.literal_eval(text)
    except (SyntaxError, ValueError):
        return text


def configure(namespace, argv, ranges=None, strict_files=True):
    """Apply config files and --key=value arguments from argv to namespace (a script's
    globals()), check every value against ranges ({key: Range}) and return the effective
    configuration as a dict.
    strict_files=False ignores keys of a config file that the script does not have (evaluation
    scripts accept a training config file for the keys they share).
    From here on an uncaught UserError ends the script with its message, without a traceback."""
    exit_on_user_error()
    keys = config_keys(namespace)
    unknown = sorted(set(ranges or {}) - set(keys))
    assert not unknown, f"ranges for keys the script does not have: {unknown}"
    defaults = {k: namespace[k] for k in keys}
    for arg in argv:
        if arg.startswith('--'):
            if '=' not in arg:
                raise ConfigError(
                    f"'{arg}' has no value: write --key=value, e.g. --{arg[2:] or 'batch_size'}=..."
                )
            key, text = arg[2:].split('=', 1)
            if key not in keys:
                raise _unknown_key(key, keys, f"from {arg}")
            value = text if isinstance(namespace[key], str) else _parse_value(text)
            namespace[key] = _checked(key, value, namespace[key], defaults[key], f"from {arg}", True)
        elif os.path.isfile(arg):
            file_namespace = {k: namespace[k] for k in keys}
            try:
                with open(arg) as f:
                    exec(compile(f.read(), arg, 'exec'), file_namespace)
            except Exception as e:
                raise ConfigError(f"config file '{arg}' could not be run: {type(e).__name__}: {e}")
            for key, value in file_namespace.items():
                if key.startswith('_') or callable(value) or inspect.ismodule(value):
                    continue
                if key not in keys:
                    if strict_files:
                        raise _unknown_key(key, keys, f"set in {arg}")
                    continue
                namespace[key] = _checked(key, value, namespace[key], defaults[key], f"in {arg}", False)
        elif arg.startswith('-'):
            raise ConfigError(
                f"'{arg}' is not a config file, and an override starts with two dashes: "
                f"write --{arg.lstrip('-')}"
            )
        else:
            close = _config_files_like(arg)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise ConfigError(
                f"config file '{arg}' not found (arguments are config files and --key=value overrides).{hint}"
            )
    config = {k: namespace[k] for k in keys}
    check_ranges(config, ranges or {})
    return config


def format_config(config):
    """The effective configuration, one key per line, for the log."""
    width = max(len(k) for k in config)
    return '\n'.join(f"  {k:<{width}} = {v!r}" for k, v in config.items())
