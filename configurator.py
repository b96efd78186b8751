"""
nanoGPT-style configuration: a script's defaults are plain module-level names; config files
(Python, exec'd) override them, then --key=value arguments override the files. Used as

    config = configure(globals(), sys.argv[1:])

in train.py and the other scripts, e.g.

    python train.py config/train_small_16.py --out_dir=out-bkp-small-16 --model_name=backpack-lm

What it adds to nanoGPT's: an unknown key is an error naming the closest valid keys; a value of
the wrong type is an error naming the key, the expected type and the value.
"""

import ast
import difflib
import inspect
import os

CONFIG_TYPES = (bool, int, float, str, list, tuple, type(None))


class ConfigError(SystemExit):
    """A mistake in a config file or a --key=value argument: its message says what to change."""

    def __init__(self, message):
        super().__init__(f"config error: {message}")


def config_keys(namespace):
    """The configurable names of a script: public module-level values of simple types."""
    return [k for k, v in namespace.items()
            if not k.startswith('_') and isinstance(v, CONFIG_TYPES) and not callable(v)]


def _unknown_key(key, keys, origin):
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return ConfigError(f"unknown key '{key}' ({origin}).{hint} "
                       f"Valid keys: {', '.join(sorted(keys))}")


def _checked(key, value, default, origin):
    """value converted to the type of the default, or an error saying what was expected."""
    if default is None or value is None:
        return value
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected in (list, tuple) and isinstance(value, (list, tuple)):
        return expected(value)
    if expected in (list, tuple) and isinstance(value, str):
        return expected(v.strip() for v in value.split(',') if v.strip())  # --a=x,y
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"key '{key}' expects {expected.__name__} (default {default!r}) but got "
                      f"{value!r} of type {type(value).__name__} ({origin})")


def _parse_value(text):
    """'True' -> True, '3e-4' -> 0.0003, "['a','b']" -> list; anything else stays a string."""
    try:
        return ast.literal_eval(text)
    except (SyntaxError, ValueError):
        return text


def configure(namespace, argv, strict_files=True):
    """Apply config files and --key=value arguments from argv to namespace (a script's
    globals()) and return the effective configuration as a dict.
    strict_files=False ignores keys of a config file that the script does not have (evaluation
    scripts accept a training config file for the keys they share)."""
    keys = config_keys(namespace)
    for arg in argv:
        if not arg.startswith('--'):
            if not os.path.isfile(arg):
                raise ConfigError(f"config file '{arg}' not found (arguments are config files "
                                  f"and --key=value overrides)")
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
                namespace[key] = _checked(key, value, namespace[key], f"in {arg}")
        else:
            if '=' not in arg:
                raise ConfigError(f"'{arg}' has no value: write --key=value, e.g. "
                                  f"--{arg[2:] or 'batch_size'}=...")
            key, text = arg[2:].split('=', 1)
            if key not in keys:
                raise _unknown_key(key, keys, f"from {arg}")
            default = namespace[key]
            value = text if isinstance(default, str) else _parse_value(text)
            namespace[key] = _checked(key, value, default, f"from {arg}")
    return {k: namespace[k] for k in keys}


def format_config(config):
    """The effective configuration, one key per line, for the log."""
    width = max(len(k) for k in config)
    return '\n'.join(f"  {k:<{width}} = {v!r}" for k, v in config.items())
