"""Every command in every README runs verbatim in a fresh shell after ``bash tools/install.sh``.

The rule (README authors: follow it; this test enforces it):

* Commands are the lines of fenced blocks tagged ``bash`` / ``sh`` / ``shell`` / ``console``
  (backslash continuations joined, ``#`` comments dropped, ``&&`` / ``;`` / ``|`` chains split),
  and inline code spans that start with an interpreter (``python``, ``.venv/bin/python``,
  ``bash``), a ``*.sh`` wrapper, or a ``*.py`` script followed by arguments. Untagged blocks are
  file listings or printed output; ``python`` blocks are config snippets.
* A command starts (after optional ``VAR=value`` assignments) with ``.venv/bin/python SCRIPT`` /
  ``.venv/bin/python -m MODULE``, ``bash SCRIPT.sh`` or an executable ``tools/...sh`` wrapper.
  A bare ``python`` fails: setup never activates the venv.
* Placeholders are allowed: words in capitals (``CONFIG``, ``CKPT``, ``WORK_DIR``), a synopsis'
  ``[optional]`` groups and ``...``. User data and outputs (``data/...``, ``work_dirs/...``,
  ``pics``) are not checked. Everything that names a file of this repository (a token starting
  with ``configs/``, ``tools/``, ``projects/``, ``mmdense/``, ``tests/``, ``requirements/``,
  ``{a,b}`` lists expanded, also after ``key=``) must exist.
* Every python script named by a command answers ``--help`` with exit status 0, and every
  ``--flag`` a README passes to it appears in that help.
"""
import functools
import importlib.util
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest

from helpers import REPO

COMMAND_LANGS = {'bash', 'sh', 'shell', 'console'}
REPO_PREFIXES = ('configs/', 'tools/', 'projects/', 'mmdense/', 'tests/', 'requirements/')
VENV_PYTHON = '.venv/bin/python'
#: ordinary shell utilities a README may use (a bare `python` / `pip` is never one of them)
SHELL_PROGRAMS = {'cd', 'mkdir', 'ls', 'cp', 'mv', 'ln', 'rm', 'cat', 'echo', 'export', 'tar',
                  'unzip', 'wget', 'curl', 'git', 'head', 'tail', 'nproc', 'time'}
SKIP_DIRS = {'data', 'work_dirs', 'node_modules', '__pycache__', 'shared'}
PLACEHOLDER = re.compile(r'[A-Z][A-Z0-9_]+')
NOT_PLACEHOLDERS = {'README', 'LICENSE', 'CHANGELOG'}
FENCE = re.compile(r'^([ \t]*)```([^\n`]*)\n(.*?)^\1```', re.S | re.M)
INLINE = re.compile(r'`([^`\n]+)`')


def readmes():
    out = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.') and d not in SKIP_DIRS)
        if 'README.md' in files:
            out.append(osp.relpath(osp.join(root, 'README.md'), REPO))
    return sorted(out)


def expand_braces(s):
    """``a/{b,c}.py`` -> ['a/b.py', 'a/c.py'] (nested lists too)."""
    m = re.search(r'\{([^{}]*)\}', s)
    if not m:
        return [s]
    return [x for alt in m.group(1).split(',')
            for x in expand_braces(s[:m.start()] + alt + s[m.end():])]


def substitutions(line):
    """The ``$(...)`` command substitutions of ``line`` (quotes and nested parentheses kept)."""
    subs, i = [], 0
    while True:
        i = line.find('$(', i)
        if i < 0:
            return subs
        depth, quote, j = 1, None, i + 2
        while j < len(line) and depth:
            c = line[j]
            if quote:
                quote = None if c == quote else quote
            elif c in '\'"':
                quote = c
            elif c == '(':
                depth += 1
            elif c == ')':
                depth -= 1
            j += 1
        subs.append(line[i:j])
        i = j


def fenced_commands(text):
    """[(line number, command line)] of the fenced shell blocks of a markdown text."""
    out = []
    for m in FENCE.finditer(text):
        if m.group(2).strip().lower() not in COMMAND_LANGS:
            continue
        first = text[:m.start(3)].count('\n') + 1
        pending, start = '', None
        for k, line in enumerate(m.group(3).splitlines()):
            stripped = line.strip()
            if not pending and (not stripped or stripped.startswith('#')):
                continue
            if start is None:
                start = first + k
            if stripped.endswith('\\'):
                pending += stripped[:-1] + ' '
                continue
            out.append((start, pending + stripped))
            pending, start = '', None
        if pending:
            out.append((start, pending))
    return out


def _inline_spans(text):
    """(line number, span) of every inline code span outside fenced blocks."""
    masked = FENCE.sub(lambda m: '\n' * m.group(0).count('\n'), text)
    for m in INLINE.finditer(masked):
        yield masked[:m.start()].count('\n') + 1, m.group(1).strip()


def inline_commands(text):
    """[(line number, span)] of inline code spans (outside fences) that are commands."""
    out = []
    for line, span in _inline_spans(text):
        words = span.split()
        while words and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', words[0]):
            words = words[1:]
        if not words:
            continue
        head = words[0]
        if len(words) == 1 and not (head.endswith('.sh') and '/' in head and '*' not in head):
            continue  # a name in prose (`python`, `.venv/bin/python`, `tools/*.sh`)
        if (head in ('python', 'python3', 'bash', VENV_PYTHON) or head.endswith('.sh')
                or (head.endswith('.py') and len(words) > 1)):
            out.append((line, span))
    return out


def inline_paths(text):
    """[(line number, span)] of inline code spans that name one repository path."""
    out = []
    for line, span in _inline_spans(text):
        if ' ' not in span and span.startswith(REPO_PREFIXES):
            out.append((line, span))
    return out


def _tokens(line):
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    lex.commenters = '#'
    return list(lex)


def _is_placeholder(tok):
    """A word in capitals (``CONFIG``, ``configs/MY_CONFIG.py``), ``...`` or ``<name>``."""
    if '...' in tok or '\u2026' in tok or '<' in tok:
        return True
    stems = (part.split('.')[0] for part in re.split(r'[/=,{}]', tok))
    return any(PLACEHOLDER.fullmatch(s) and s not in NOT_PLACEHOLDERS for s in stems)


def _check_path(tok, where, errors):
    """A token naming a repository file must exist (``{a,b}`` expanded, placeholders skipped)."""
    if '=' in tok and not tok.startswith('-'):
        tok = tok.split('=', 1)[1]
    if not tok.startswith(REPO_PREFIXES) and tok != 'tests':
        return
    if _is_placeholder(tok) or '*' in tok:
        return
    for path in expand_braces(tok):
        if not osp.exists(osp.join(REPO, path)):
            errors.append(f'{where}: {path} does not exist')


def check_command(line, where, scripts, errors, resolve=None):
    """Check one command line; python scripts it runs go into ``scripts`` {path: set of flags}.

    ``resolve`` maps a ``$(...)`` substitution to its output (None: substitutions are errors).
    """
    for sub in substitutions(line):
        if resolve is None:
            errors.append(f'{where}: command substitution {sub} not allowed here')
            return
        line = line.replace(sub, resolve(sub))
    try:
        toks = _tokens(line)
    except ValueError as e:
        errors.append(f'{where}: cannot parse {line!r} ({e})')
        return
    commands, cur = [], []
    for t in toks:
        if t in ('&&', '||', ';', '|', '&'):
            commands.append(cur)
            cur = []
        else:
            cur.append(t)
    commands.append(cur)
    for cmd in commands:
        words = [w.strip('[]') for w in cmd]
        words = [w for w in words if w and w not in ('...', '\u2026')]
        while words and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', words[0]):
            words = words[1:]
        if not words:
            continue
        prog, args = words[0], words[1:]
        if prog in ('python', 'python3'):
            errors.append(f'{where}: bare `{prog}` (use {VENV_PYTHON}: setup does not activate '
                          f'the venv): {" ".join(cmd)}')
            continue
        if prog == VENV_PYTHON:
            if args[:1] == ['-m']:
                if len(args) < 2 or importlib.util.find_spec(args[1]) is None:
                    errors.append(f'{where}: no module {args[1:2]}')
                rest = args[2:]
            elif not args:
                errors.append(f'{where}: {VENV_PYTHON} without a script')
                continue
            else:
                script, rest = args[0], args[1:]
                if not osp.isfile(script if osp.isabs(script) else osp.join(REPO, script)):
                    errors.append(f'{where}: script {script} does not exist')
                    continue
                flags = scripts.setdefault(script, {})
                for a in rest:
                    if a.startswith('--'):
                        flags.setdefault(a.split('=', 1)[0], where)
            for a in rest:
                _check_path(a, where, errors)
            continue
        if prog == 'bash':
            if not args or not osp.isfile(osp.join(REPO, args[0])):
                errors.append(f'{where}: bash script {args[:1]} does not exist')
                continue
            for a in args:
                _check_path(a, where, errors)
            continue
        if prog.endswith('.sh'):
            path = osp.join(REPO, prog)
            if not osp.isfile(path):
                errors.append(f'{where}: {prog} does not exist')
            elif not os.access(path, os.X_OK):
                errors.append(f'{where}: {prog} is not executable (chmod +x, or `bash {prog}`)')
            for a in args:
                _check_path(a, where, errors)
            continue
        if prog in SHELL_PROGRAMS:
            continue
        if prog.startswith('.venv/bin/'):
            if not osp.exists(osp.join(osp.dirname(sys.executable), osp.basename(prog))):
                errors.append(f'{where}: the venv has no {osp.basename(prog)}')
            continue
        if prog.endswith('.py'):
            errors.append(f'{where}: `{prog}` with arguments needs `{VENV_PYTHON}` in front')
            continue
        errors.append(f'{where}: unknown program {prog!r} (README commands run '
                      f'{VENV_PYTHON}, .venv/bin/..., bash, a tools/*.sh wrapper or a shell '
                      'utility)')


@functools.lru_cache(maxsize=None)
def _resolve(sub):
    """Run a ``$(...)`` substitution in bash from the repository root, with the venv's python
    standing for this interpreter."""
    code = sub.replace(VENV_PYTHON, sys.executable)
    r = subprocess.run(['bash', '-c', f'printf %s "{code}"'], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout, f'{sub} failed: {r.stderr[-2000:]}'
    out = r.stdout
    return osp.relpath(out, REPO) if out.startswith(REPO) else out


def check_readme(text, name, scripts, resolve=None):
    errors = []
    for lineno, line in fenced_commands(text):
        check_command(line, f'{name}:{lineno}', scripts, errors, resolve)
    for lineno, span in inline_commands(text):
        check_command(span, f'{name}:{lineno} (inline)', scripts, errors, resolve)
    for lineno, span in inline_paths(text):
        _check_path(span, f'{name}:{lineno} (inline)', errors)
    return errors


HELP_DRIVER = r'''
import contextlib, io, json, runpy, sys
out = {}
for script in json.loads(sys.argv[1]):
    buf, code = io.StringIO(), 0
    sys.argv = [script, '--help']
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            runpy.run_path(script, run_name='__main__')
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else str(e.code))
    except BaseException as e:  # noqa
        code = repr(e)
    out[script] = [code, buf.getvalue()]
print('@@HELP@@' + json.dumps(out))
'''


def script_help(scripts):
    """{script: (exit code, help text)} of ``script --help``, all in one interpreter."""
    r = subprocess.run([sys.executable, '-c', HELP_DRIVER, json.dumps(sorted(scripts))],
                       cwd=REPO, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1'))
    assert '@@HELP@@' in r.stdout, r.stderr[-3000:]
    return json.loads(r.stdout.split('@@HELP@@', 1)[1])


README_FILES = readmes()


def test_readmes_are_found():
    assert 'README.md' in README_FILES
    assert 'configs/flowe/README.md' in README_FILES
    assert 'projects/dense_eval/README.md' in README_FILES
    n = sum(len(fenced_commands(open(osp.join(REPO, f)).read())) for f in README_FILES)
    assert n >= 20, n


@pytest.mark.parametrize('readme', README_FILES)
def test_readme_commands_name_existing_things(readme):
    text = open(osp.join(REPO, readme), encoding='utf-8').read()
    errors = check_readme(text, readme, {}, resolve=_resolve)
    assert not errors, '\n'.join(errors)


def test_readme_scripts_answer_help_with_their_flags():
    scripts = {}
    for readme in README_FILES:
        check_readme(open(osp.join(REPO, readme), encoding='utf-8').read(), readme, scripts,
                     resolve=_resolve)
    assert 'tools/train.py' in scripts and 'tools/misc/make_demo_world.py' in scripts
    helps = script_help(scripts)
    errors = []
    for script, flags in scripts.items():
        code, text = helps[script]
        if code != 0:
            errors.append(f'{script} --help: exit {code}\n{text[-1500:]}')
            continue
        for flag, where in flags.items():
            if flag != '--help' and flag not in text:
                errors.append(f'{where}: {script} has no option {flag} (see its --help)')
    assert not errors, '\n'.join(errors)


def test_the_rule_catches_what_a_newcomer_trips_on():
    text = '\n'.join([
        '```bash',
        'python tools/train.py CONFIG',                              # bare python
        '.venv/bin/python tools/nope.py CONFIG',                     # missing script
        '.venv/bin/python tools/train.py configs/nope/x.py \\',     # missing config
        '    --work-dir work_dirs/x   # outputs are not checked',
        'bash tools/install.sh && tools/readout/readout.sh CONFIG CKPT 1',   # fine
        'tools/misc/make_demo_world.py data/demo_world',              # no interpreter
        '.venv/bin/python tools/train.py configs/{flowe,nope}/README.md',  # one of two missing
        '```',
        'Run `python tools/misc/make_demo_world.py data/x` or see `tools/flow/nope.py`.',
        '```',
        'python this/is/output.py  # untagged: not a command',
        '```',
    ])
    scripts = {}
    errors = check_readme(text, 'X', scripts)
    joined = '\n'.join(errors)
    assert 'X:2: bare `python`' in joined
    assert 'X:3: script tools/nope.py does not exist' in joined
    assert 'X:4: configs/nope/x.py does not exist' in joined
    assert 'X:7: `tools/misc/make_demo_world.py` with arguments needs' in joined
    assert 'X:8: configs/nope/README.md does not exist' in joined
    assert 'configs/flowe/README.md does not exist' not in joined
    assert 'X:10 (inline): bare `python`' in joined
    assert 'X:10 (inline): tools/flow/nope.py does not exist' in joined
    assert len(errors) == 7, joined
    assert set(scripts) == {'tools/train.py'}
    assert set(scripts['tools/train.py']) == {'--work-dir'}


def test_wrappers_find_the_venv_in_a_fresh_shell(tmp_path):
    """A README's `tools/readout/readout.sh ...` typed into a shell where the venv is not active
    (no PYTHON variable, no python on PATH) runs the venv's interpreter."""
    venv = osp.dirname(osp.dirname(sys.executable))
    if not os.access(osp.join(venv, 'bin', 'python'), os.X_OK):
        pytest.skip('the tests do not run from a venv')
    env = {'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path), 'MMDENSE_VENV': venv}
    r = subprocess.run(
        ['bash', 'tools/readout/readout.sh',
         'configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py', 'none', '1',
         '--help'], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '--cfg-options' in r.stdout
