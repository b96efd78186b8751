"""The README's install (bash bkp_install/python_env.sh, which installs requirements.txt) runs
every script: each package the code imports is in requirements.txt, or is an optional extra that
the code checks for (with the command that installs it) before any work."""

import ast
import os
import re
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# import name -> distribution name, where they differ
DISTRIBUTIONS = {'yaml': 'PyYAML', 'PIL': 'Pillow', 'sklearn': 'scikit-learn'}

# imported inside a function, in a try that catches ImportError, and not in requirements.txt:
# the file that imports it, and what happens without it (a fallback, or a message with the
# install line before any work)
OPTIONAL = {
    'wordfreq': ('senses/word_lists.py', 'falls back to the words of the held-out text'),
}
IMPORT_ERRORS = {'ImportError', 'ModuleNotFoundError'}
# an optional extra that a module of ours is written for (a subclass of its classes): the module
# imports it at top level, and only the script named first imports that module, after importing
# the extra in a try that catches ImportError and says how to install it
OPTIONAL_ADAPTERS = {'lm_eval': ('lm_eval_harness.py', 'evaluation/harness_model.py')}


def tracked_python_files():
    out = subprocess.run(
        ['git', 'ls-files', '*.py'], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [path for path in out.split() if not path.startswith('tests/')]


def own_packages(files):
    return {path.split('/')[0].removesuffix('.py') for path in files}


def catches_import_error(node):
    for handler in node.handlers:
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(t, ast.Name) and t.id in IMPORT_ERRORS for t in types):
            return True
    return False


def third_party_imports(path, own):
    """{(module, inside a function)} of the file's absolute imports outside the standard
    library and the project, and {module} of those inside a try that catches ImportError."""
    with open(os.path.join(REPO_ROOT, path), encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    found, guarded = set(), set()

    def visit(node, in_function, in_guard=False):
        for child in ast.iter_child_nodes(node):
            guard = in_guard or (
                isinstance(node, ast.Try) and child in node.body and catches_import_error(node)
            )
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and not child.level:
                names = [child.module]
            else:
                names = []
            for name in names:
                top = name.split('.')[0]
                if top not in sys.stdlib_module_names and top not in own:
                    found.add((top, in_function))
                    if guard:
                        guarded.add(top)
            visit(
                child,
                in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)),
                guard,
            )

    visit(tree, False)
    return found, guarded


def requirement_names(filename):
    names = set()
    with open(os.path.join(REPO_ROOT, filename)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                names.add(re.split(r'[<>=!~\[; ]', line, maxsplit=1)[0].lower().replace('_', '-'))
    return names


def distribution(module):
    return DISTRIBUTIONS.get(module, module).lower().replace('_', '-')


def all_imports():
    files = tracked_python_files()
    own = own_packages(files)
    return {path: third_party_imports(path, own)[0] for path in files}


def test_every_imported_package_is_a_requirement_or_a_checked_extra():
    required = requirement_names('requirements.txt')
    missing = []
    for path, imports in all_imports().items():
        for module, in_function in sorted(imports):
            if distribution(module) in required:
                continue
            if in_function and module in OPTIONAL:
                continue
            if path in OPTIONAL_ADAPTERS.get(module, ()):
                continue
            where = 'inside a function' if in_function else 'at top level'
            missing.append(f"{path} imports {module} {where}")
    assert not missing, (
        "not in requirements.txt (add it there, or, for an import inside a "
        "function that is an optional extra, to OPTIONAL here, with a check "
        "before any work):\n" + '\n'.join(missing)
    )


def test_optional_extras_are_optional_and_still_used():
    files = tracked_python_files()
    required = requirement_names('requirements.txt')
    for module, (path, _) in OPTIONAL.items():
        imports, guarded = third_party_imports(path, own_packages(files))
        assert (module, True) in imports, f"{path} no longer imports {module}: drop it from OPTIONAL"
        assert (module, False) not in imports, f"{path} imports the extra {module} at top level"
        assert module in guarded, (
            f"{path} imports the extra {module} outside a try that catches "
            f"ImportError: without it the user would meet a traceback"
        )
        assert distribution(module) not in required, f"{module} is in requirements.txt: not an extra"


def test_every_requirement_is_imported_somewhere():
    """Few dependencies, each earning its place: a listed package the code never imports is an
    install for nothing."""
    imported = {distribution(module) for imports in all_imports().values() for module, _ in imports}
    unused = requirement_names('requirements.txt') - imported
    assert not unused, f"requirements.txt lists {sorted(unused)}, which nothing imports"


def test_test_requirements_do_not_repeat_the_requirements():
    both = requirement_names('requirements.txt') & requirement_names('requirements-test.txt')
    assert not both, f"in both requirements.txt and requirements-test.txt: {sorted(both)}"


def test_optional_adapters_are_imported_after_their_check():
    own = own_packages(tracked_python_files())
    for module, (script, *adapters) in OPTIONAL_ADAPTERS.items():
        _, guarded = third_party_imports(script, own)
        assert module in guarded, f"{script} imports {module} outside a try that catches ImportError"
        for adapter in adapters:
            importers = [
                path
                for path in tracked_python_files()
                if (adapter.removesuffix('.py').replace('/', '.'))
                in open(os.path.join(REPO_ROOT, path)).read()
                and path != adapter
            ]
            assert importers == [script], (
                f"{adapter} (needs {module}) is imported by {importers}, not only {script}"
            )
