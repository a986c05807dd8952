"""README.md's commands: the quick start's two make targets set up .venv and
run what README says; every other command parses its flags and loads its
configs; those that can run on this machine run (the main job with its smallest
settings)."""

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from asvit_tf import counting
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.scaling import scaler
from tests import helpers

# Imports the binary (registering its flags), parses the command's flags and,
# for Model Garden trainers, loads the YAML files and overrides they name.
_PARSE = '''
import importlib, sys
from absl import flags
module = importlib.import_module(sys.argv[1])
flags.FLAGS([sys.argv[1]] + sys.argv[2:])
if hasattr(flags.FLAGS, 'experiment') and flags.FLAGS['experiment'].present:
  from official.core import train_utils
  params = train_utils.parse_configuration(flags.FLAGS)
  params.validate()
print('parsed')
'''


def readme_text():
  with open(os.path.join(helpers.ROOT, 'README.md')) as f:
    return f.read()


def bash_lines(markdown):
  blocks = re.findall(r'```bash\n(.*?)```', markdown, flags=re.S)
  return [line.strip() for block in blocks for line in block.splitlines()
          if line.strip()]


def readme_commands():
  return [line for line in bash_lines(readme_text())
          if line.startswith('python -m ')]


def quick_start():
  """README's quick-start section, up to the next heading."""
  return re.search(r'^## Two commands\n(.*?)^## ', readme_text(),
                   flags=re.S | re.M).group(1)


def make(*args):
  """Runs make in the repository as a user would: without the variables of a
  make that may be running this test."""
  env = {k: v for k, v in os.environ.items()
         if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'PYTHON', 'VENV',
                      'DEMO_DIR')}
  return subprocess.run(['make', '--no-print-directory', *args],
                        cwd=helpers.ROOT, env=env, capture_output=True,
                        text=True, timeout=60, check=False)


def make_recipe(target):
  """What `make TARGET` runs once .venv is installed (make's dry run)."""
  result = make('-n', '-o', '.venv/.installed', target)
  assert result.returncode == 0, result.stderr
  return result.stdout.splitlines()


def binary_module(argv):
  module = argv[2]
  return module + '.__main__' if module in (
      'asvit_tf.search', 'asvit_tf.scaling', 'asvit_tf.complexity') else module


def run(argv, timeout=900):
  return subprocess.run(argv, cwd=helpers.ROOT, capture_output=True, text=True,
                        timeout=timeout, check=False)


def test_quick_start_is_two_commands_and_ci_runs_the_second():
  commands = bash_lines(quick_start())
  assert commands == ['make demo', 'make test']
  with open(os.path.join(helpers.ROOT, '.ci', 'run')) as f:
    assert f.read().rstrip().splitlines()[-1] == commands[1]


def test_make_targets_run_in_the_venv_what_the_quick_start_says():
  text = ' '.join(quick_start().split())
  for target, command in (
      ('demo', 'python -m asvit_tf.pipeline --output_dir=/tmp/asvit_pipeline'),
      ('test', 'python -m pytest -q tests')):
    assert make_recipe(target) == ['.venv/bin/' + command]
    assert f'`{command}` in `.venv`' in text


def test_make_installs_the_pins_only_when_they_changed(tmp_path):
  venv = str(tmp_path / 'venv')
  install = [f'test -x {venv}/bin/python || {sys.executable} -m venv {venv}',
             f'{venv}/bin/python -m pip install -r requirements.txt',
             f'{venv}/bin/python -m pip install --no-deps -e .',
             f'touch {venv}/.installed']
  test = [f'{venv}/bin/python -m pytest -q tests']
  dry_run = ('-n', 'test', f'VENV={venv}', f'PYTHON={sys.executable}')
  assert make(*dry_run).stdout.splitlines() == install + test
  (tmp_path / 'venv').mkdir()
  (tmp_path / 'venv' / '.installed').touch()
  assert make(*dry_run).stdout.splitlines() == test
  # A stamp older than requirements.txt and pyproject.toml: install again.
  os.utime(tmp_path / 'venv' / '.installed', (0, 0))
  assert make(*dry_run).stdout.splitlines() == install + test


@pytest.mark.parametrize('version', ['3.10', None])
def test_make_names_the_python_it_needs_in_one_line(tmp_path, version):
  python = tmp_path / 'python3'
  if version:
    python.write_text(f'#!/bin/sh\necho {version}\n')
    python.chmod(0o755)
  result = make('demo', f'VENV={tmp_path / "venv"}', f'PYTHON={python}')
  assert result.returncode == 2 and result.stdout == ''
  assert result.stderr.count('\n') == 1
  assert (f'needs Python 3.11-3.13; {python} is {version or "not found"}.'
          in result.stderr)
  assert not (tmp_path / 'venv').exists()


@pytest.mark.parametrize(
    'command', [c for c in readme_commands() if 'pytest' not in c])
def test_every_readme_command_parses_its_flags_and_configs(command):
  argv = shlex.split(command)
  result = helpers.run_code(_PARSE, binary_module(argv), *argv[3:])
  assert result.returncode == 0 and 'parsed' in result.stdout, result.stderr


def test_readme_summary_command_runs():
  command = next(c for c in readme_commands() if 'asvit_tf.summary' in c)
  result = helpers.run_module(*shlex.split(command)[2:])
  assert result.returncode == 0, result.stderr
  assert '87.58' in result.stdout and '22.36' in result.stdout


@pytest.mark.slow
def test_readme_main_job_runs_with_its_smallest_settings(tmp_path):
  """`make demo`'s main job, with flags that keep every stage to seconds."""
  argv = shlex.split(make_recipe('demo')[0])[1:]
  argv = [a for a in argv if not a.startswith('--output_dir')]
  argv = [sys.executable, *argv, f'--output_dir={tmp_path}',
          '--search_steps=3', '--repeats=1', '--ntk_batch_size=2', '--width=8',
          '--train_steps=12', '--phases=8:6', '--metric_workers=1']
  # The search alone runs forked, to read the topology it finds; the job
  # then runs whole as the README's command in a fresh interpreter.
  assert argv[1] == '-m', argv
  searched = helpers.run_module(argv[2], *argv[3:], '--skip=scale,train')
  assert searched.returncode == 0, searched.stderr[-3000:]
  found = json.loads((tmp_path / 'search' / 'search_result.json').read_text())
  # Scaling starts at C=8, or wider where the C/4 stand-in needs a channel per
  # head. The budget is the smallest candidate's size, and larger candidates
  # are dropped: one step that measures the start and that candidate.
  start = arch_lib.parse_arch(found['arch']).with_depths((1, 1, 1, 1))
  start = start.replace(width=max(8, 4 * arch_lib.min_width(start.heads)))
  smallest = min(counting.arch_params(candidate.arch, 10)
                 for candidate in scaler.candidates(start)) / 1e6
  result = run(argv + [f'--stop_params_m={smallest * (1 - 1e-9)!r}',
                       f'--max_params_m={smallest * (1 + 1e-9)!r}'])
  assert result.returncode == 0, result.stderr[-3000:]
  for name in ('report.md', 'report.json', 'training_curve.png',
               'search/search_entropy.png', 'scale/scale_trajectory.png',
               'scale/scale_complexity.png'):
    assert (tmp_path / name).stat().st_size > 0, name
  report = json.loads((tmp_path / 'report.json').read_text())
  assert report['search']['arch'] == found['arch']
  series = report['scale']['series']
  assert series[0]['arch'] == arch_lib.format_arch(start)
  assert len(series) == 2 and series[-1]['params'] > series[0]['params']
  train = report['train']
  assert train['arch'] == series[-1]['arch']
  assert train['precision'] == 'float32'  # The smoke YAML's.
  assert 0.0 <= train['top1'] <= 1.0
  assert [(p['stride'], p['dilation'], p['start_step'])
          for p in train['phases']][:2] == [(8, 2, 0), (4, 1, 6)]
  markdown = (tmp_path / 'report.md').read_text()
  for fragment in (found['arch'], series[-1]['arch'],
                   f'{train["top1"]:.3f}',
                   'training_curve.png', 'search/search_entropy.png'):
    assert fragment in markdown
