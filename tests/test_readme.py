"""README.md's commands: every one parses its flags and loads its configs;
those that can run on this machine run (the main job with its smallest
settings)."""

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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


def readme_commands():
  with open(os.path.join(ROOT, 'README.md')) as f:
    text = f.read()
  blocks = re.findall(r'```bash\n(.*?)```', text, flags=re.S)
  return [line.strip() for block in blocks for line in block.splitlines()
          if line.strip().startswith('python -m ')]


def binary_module(argv):
  module = argv[2]
  return module + '.__main__' if module in ('asvit_tf.search',
                                            'asvit_tf.complexity') else module


def run(argv, timeout=900):
  return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                        timeout=timeout, check=False)


def test_readme_has_the_two_commands_and_ci_runs_the_test_command():
  commands = readme_commands()
  assert 'python -m asvit_tf.pipeline --output_dir=/tmp/asvit_pipeline' in (
      commands)
  assert 'python -m pytest -q tests' in commands
  with open(os.path.join(ROOT, '.ci', 'run')) as f:
    assert f.read().rstrip().splitlines()[-1] == 'python -m pytest -q tests'


@pytest.mark.parametrize(
    'command', [c for c in readme_commands() if 'pytest' not in c])
def test_every_readme_command_parses_its_flags_and_configs(command):
  argv = shlex.split(command)
  result = run([sys.executable, '-c', _PARSE, binary_module(argv), *argv[3:]])
  assert result.returncode == 0 and 'parsed' in result.stdout, result.stderr


def test_readme_summary_command_runs():
  command = next(c for c in readme_commands() if 'asvit_tf.summary' in c)
  result = run([sys.executable, *shlex.split(command)[1:]])
  assert result.returncode == 0, result.stderr
  assert '87.58' in result.stdout and '22.36' in result.stdout


def test_readme_main_job_runs_with_its_smallest_settings(tmp_path):
  """The README's main job, with flags that keep every stage to seconds."""
  command = next(c for c in readme_commands() if 'asvit_tf.pipeline' in c)
  argv = shlex.split(command)[1:]
  argv = [a for a in argv if not a.startswith('--output_dir')]
  result = run([sys.executable, *argv, f'--output_dir={tmp_path}',
                '--search_steps=3', '--repeats=1', '--ntk_batch_size=2',
                '--width=8', '--stop_params_m=0.16', '--max_params_m=0.3',
                '--train_steps=12', '--phases=8:6'])
  assert result.returncode == 0, result.stderr[-3000:]
  for name in ('report.md', 'report.json', 'training_curve.png',
               'search/search_entropy.png', 'scale/scale_trajectory.png',
               'scale/scale_complexity.png'):
    assert (tmp_path / name).stat().st_size > 0, name
  report = json.loads((tmp_path / 'report.json').read_text())
  found = report['search']['arch']
  series = report['scale']['series']
  # Scaling starts from the found topology at L=1 and C=8.
  assert series[0]['arch'] == found.rsplit(',', 1)[0] + ',8'
  assert len(series) >= 2 and series[-1]['params'] > series[0]['params']
  train = report['train']
  assert train['arch'] == series[-1]['arch']
  assert train['precision'] == 'float32'  # The smoke YAML's.
  assert 0.0 <= train['top1'] <= 1.0
  assert [(p['stride'], p['dilation'], p['start_step'])
          for p in train['phases']][:2] == [(8, 2, 0), (4, 1, 6)]
  markdown = (tmp_path / 'report.md').read_text()
  for fragment in (found, series[-1]['arch'], f'{train["top1"]:.3f}',
                   'training_curve.png', 'search/search_entropy.png'):
    assert fragment in markdown
