"""The main job: flags that would fail late are refused before any stage
runs, a killed job leaves no stage running, and its report reads back the
training run's summaries."""

import os
import signal
import subprocess
import sys

import pytest
import tensorflow as tf

from asvit_tf import report as report_lib
from tests import helpers


@pytest.mark.parametrize('flags, message', [
    (['--phases=16:100', '--train_image_size=64'],
     '--phases=16:100 at --train_image_size=64: stride 16 needs sides of at '
     'least 128 pixels; allowed: '),
    (['--skip=search,train', '--arch=1,2,3|x'],
     '--arch=1,2,3|x: arch \'1,2,3|x\' has 2 "|"-separated parts; allowed: '),
    (['--stop_params_m=inf', '--max_params_m=inf'],
     '--stop_params_m=inf and --max_params_m=inf; allowed: 0 < stop_params_m '
     '<= max_params_m, finite'),
])
def test_flags_a_later_stage_would_refuse_are_refused_before_any_stage(
    tmp_path, flags, message):
  output_dir = tmp_path / 'out'
  result = helpers.run_module('asvit_tf.pipeline', f'--output_dir={output_dir}',
                             *flags)
  helpers.assert_one_line_error(result, f'error: {message}')
  assert not output_dir.exists()


def test_a_stage_refusing_its_flags_is_the_jobs_one_line_error(tmp_path):
  output_dir = tmp_path / 'out'
  result = helpers.run_module('asvit_tf.pipeline', f'--output_dir={output_dir}',
                             '--metric_image_size=40', '--skip=scale,train')
  helpers.assert_one_line_error(
      result, 'error: --image_size=40 does not fit ')
  assert [line for line in result.stderr.splitlines()
          if line.startswith('error:')] == [result.stderr.splitlines()[-1]]


def _running(pid: int) -> bool:
  """Whether process `pid` exists and has not exited (a zombie has)."""
  try:
    with open(f'/proc/{pid}/stat') as stat:
      state = stat.read().rsplit(')', 1)[1].split()[0]
  except FileNotFoundError:
    return False
  return state not in 'ZX'


@pytest.mark.skipif(not sys.platform.startswith('linux'),
                    reason='stages end with the job on Linux only')
def test_a_sigkilled_job_leaves_no_stage_running(tmp_path):
  """Left running, the stage would go on writing the folder that the job,
  run again to resume, writes too."""
  job = subprocess.Popen(
      [sys.executable, '-m', 'asvit_tf.pipeline', f'--output_dir={tmp_path}',
       '--skip=scale,train', '--metric_workers=1'],
      cwd=helpers.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  children = f'/proc/{job.pid}/task/{job.pid}/children'
  stage = None
  try:
    # The stage has made its folder: its own code runs.
    assert helpers.wait_until((tmp_path / 'search').exists, 120)
    with open(children) as f:
      (stage,) = [int(pid) for pid in f.read().split()]
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert helpers.wait_until(lambda: not _running(stage), 30)
  finally:
    job.kill()
    if stage is not None and _running(stage):
      os.kill(stage, signal.SIGKILL)


def test_report_reads_every_scalar_back_without_tf_warnings(tmp_path):
  """Tensor summaries (Model Garden's) and simple values, in time order; TF's
  deprecated event iterator printed a warning at the end of every main job."""
  with tf.summary.create_file_writer(str(tmp_path)).as_default() as writer:
    tf.summary.scalar('training_loss', 2.5, step=4)
    writer.flush()  # A later wall time for the next summary.
    tf.summary.scalar('training_loss', 1.25, step=5)
    tf.summary.experimental.write_raw_pb(tf.compat.v1.Summary(value=[
        tf.compat.v1.Summary.Value(tag='accuracy', simple_value=0.75)
    ]).SerializeToString(), step=5)
  writer.close()
  with helpers.tf_warnings() as warnings:
    scalars = report_lib.read_scalars(str(tmp_path))
  assert {tag: [(row['step'], row['value']) for row in rows]
          for tag, rows in scalars.items()} == {
              'training_loss': [(4, 2.5), (5, 1.25)], 'accuracy': [(5, 0.75)]}
  assert [r.getMessage() for r in warnings] == []
