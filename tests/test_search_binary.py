"""The search and scaling binaries: one-line errors, refusal, SIGKILL resume."""

import importlib
import json
import os
import signal
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import pytest

from asvit_tf import cli
from tests import helpers

# A search whose metric is contrived and slow enough to be killed mid-run.
_WORKER = '''
import io, sys, time
from asvit_tf import job as job_lib
from asvit_tf.search import reinforce
from tests import helpers

def slow_metric(arch, seed):
  time.sleep(0.25)
  return helpers.rewarded_metric(arch, seed)

config = reinforce.SearchConfig(steps=12, seed=7, image_size=32)
job_lib.run(sys.argv[1], reinforce.Search, config, {'steps': 12, 'seed': 7},
            lambda: slow_metric, io.StringIO())
'''


def error_line(module, argv, capsys):
  """Runs the binary's main in-process behind the binaries' error boundary
  (flag parsing included); returns its one stderr line, checking exit 2."""
  binary = importlib.import_module(module)
  with flagsaver.flagsaver(), pytest.raises(SystemExit) as exited:
    flags.FLAGS.unparse_flags()
    cli.guard(binary.main)(cli.parse_flags(['prog', *argv]))
  assert exited.value.code == 2
  lines = capsys.readouterr().err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('error: '), lines
  return lines[0]


@pytest.mark.parametrize('module,argv,fragment', [
    ('asvit_tf.search.__main__', [], '--model_dir is required'),
    ('asvit_tf.search.__main__', ['--model_dir={dir}', '--image_size=48'],
     '--image_size=48 does not fit'),
    ('asvit_tf.search.__main__', ['--model_dir={dir}', '--steps=0'],
     '--steps=0'),
    ('asvit_tf.search.__main__', ['--model_dir={dir}',
                                  '--baseline_momentum=1'],
     'allowed: 0 <= momentum < 1'),
    ('asvit_tf.search.__main__', ['--model_dir={dir}', '--repeats=0'],
     '--repeats=0'),
    ('asvit_tf.search.__main__', ['--model_dir={dir}', '--seed=-1'],
     '--seed=-1: -1 is not a non-negative integer'),
    ('asvit_tf.search.__main__', ['--model_dir={dir}', '--learning_rate=inf'],
     'allowed: a positive finite number'),
    ('asvit_tf.search.__main__', ['--model_dir={dir}', '--image_size=32',
                                  '--data=folder:{dir}/missing'],
     'is not a folder'),
    ('asvit_tf.search.__main__', ['--model_dir={dir}', '--image_size=32',
                                  '--data=imagenet'], 'is not recognised'),
    ('asvit_tf.scaling.__main__',
     ['--model_dir={dir}', '--arch=8,2,3|4,1,2|4,1,4|32'],
     'has 4 "|"-separated parts'),
    ('asvit_tf.scaling.__main__', ['--model_dir={dir}', '--stop_params_m=120'],
     '0 < stop_params_m <= max_params_m'),
    ('asvit_tf.scaling.__main__', ['--model_dir={dir}', '--stop_params_m=inf',
                                   '--max_params_m=inf'],
     'allowed: 0 < stop_params_m <= max_params_m, finite'),
    ('asvit_tf.scaling.__main__', ['--model_dir={dir}', '--arch=seed',
                                   '--image_size=36'],
     '--image_size=36 does not fit'),
    ('asvit_tf.scaling.__main__', ['--model_dir={dir}', '--image_size=32',
                                   '--data=tfrecord:{dir}/none-*.tfrecord'],
     'no file matches'),
    ('asvit_tf.scaling.__main__', ['--model_dir={dir}', '--image_size=32',
                                   '--arch=4,2,2|2,1,2|2,1,2|2,1,2|64,16'],
     'stand-in of 4 channels'),
])
def test_bad_flags_and_data_are_one_line_errors(tmp_path, capsys, module,
                                               argv, fragment):
  line = error_line(module, [a.format(dir=tmp_path) for a in argv], capsys)
  assert fragment in line
  assert not list(tmp_path.iterdir())


def test_binary_prints_one_line_and_refuses_other_flags(tmp_path):
  state = {'config': {'steps': 500, 'seed': 3}, 'search': {}}
  (tmp_path / 'search_state.json').write_text(json.dumps(state))
  result = helpers.run_module('asvit_tf.search', f'--model_dir={tmp_path}',
                              '--image_size=32', '--seed=4')
  assert result.returncode == 2, result.stderr
  assert 'Traceback' not in result.stderr
  lines = [l for l in result.stderr.splitlines() if l.startswith('error:')]
  assert len(lines) == 1, result.stderr
  assert 'holds a run with other settings' in lines[0]
  assert 'seed=3 (now 4)' in lines[0]


@pytest.mark.slow
def test_sigkilled_search_resumes_to_the_uninterrupted_result(tmp_path):
  whole, _ = helpers.run_search(tmp_path / 'whole', steps=12, seed=7)
  model_dir = tmp_path / 'killed'
  state_path = model_dir / 'search_state.json'
  env = dict(os.environ, PYTHONPATH=os.getcwd())
  worker = subprocess.Popen([sys.executable, '-c', _WORKER, str(model_dir)],
                            env=env)


  def steps_done() -> int:  # The state file is replaced whole (atomic).
    if not state_path.exists():
      return 0
    return len(json.loads(state_path.read_text())['search']['history'])

  helpers.wait_until(lambda: steps_done() >= 4, 120)
  worker.send_signal(signal.SIGKILL)
  worker.wait()
  assert 4 <= steps_done() < 12
  assert not (model_dir / 'search_result.json').exists()
  subprocess.run([sys.executable, '-c', _WORKER, str(model_dir)], env=env,
                 check=True, timeout=300)
  resumed = json.loads((model_dir / 'search_result.json').read_text())
  expected = json.loads(json.dumps(whole))
  assert (helpers.search_without_times(resumed) ==
          helpers.search_without_times(expected))


@pytest.mark.slow
def test_search_binary_runs_end_to_end_with_the_real_metrics(tmp_path):
  result = helpers.run_module('asvit_tf.search', f'--model_dir={tmp_path}',
                              '--image_size=32', '--steps=2', '--repeats=1',
                              '--ntk_batch_size=2', '--seed=1')
  assert result.returncode == 0, result.stderr
  assert 'step 2/2 | ETA' in result.stdout
  assert 'searched topology' in result.stdout
  saved = json.loads((tmp_path / 'search_result.json').read_text())
  assert len(saved['history']) == 2
  assert saved['settings']['repeats'] == 1
  for record in saved['history'] + [saved]:
    assert record['l_e'] > 0 and record['ntk'] >= 1
  assert saved['history'][0]['reward'] == 0.0
  assert (tmp_path / 'search_entropy.png').stat().st_size > 0
  assert list((tmp_path / 'tensorboard').iterdir())


@pytest.mark.parametrize('module, name', [
    ('asvit_tf.search.__main__', 'search_state.json'),
    ('asvit_tf.scaling.__main__', 'scale_state.json'),
])
def test_damaged_state_file_is_named_and_left_alone(tmp_path, capsys, module,
                                                    name):
  path = tmp_path / name
  path.write_text('{"config": {"se')  # Truncated.
  line = error_line(module, [f'--model_dir={tmp_path}', '--image_size=32'],
                    capsys)
  assert line.startswith(f'error: state file {path} is not JSON (')
  assert path.read_text() == '{"config": {"se'
  assert os.listdir(tmp_path) == [name]
