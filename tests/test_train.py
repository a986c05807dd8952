"""The train binary on the CPU smoke config: phases, resume, loss, top-1."""

import glob
import math
import os
import subprocess
import sys

import pytest
import tensorflow as tf

ROOT = os.path.join(os.path.dirname(__file__), '..')
SMOKE = os.path.join(ROOT, 'official_configs', 'asvit_smoke_digits_cpu.yaml')


def run_train(model_dir, *flags):
  return subprocess.run(
      [sys.executable, '-m', 'asvit_tf.train', '--experiment=asvit_imagenet',
       f'--config_file={SMOKE}', f'--model_dir={model_dir}', *flags],
      capture_output=True, text=True, timeout=400, cwd=ROOT, check=False)


def train(model_dir, *flags):
  result = run_train(model_dir, *flags)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def scalars(model_dir, subdir, tag):
  """{step: value} of a scalar in the event files of `model_dir/subdir`."""
  values = {}
  for path in glob.glob(os.path.join(model_dir, subdir, 'events.out.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == tag:
          values[event.step] = float(tf.make_ndarray(value.tensor))
  return values


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
  """Stopped at step 20 (inside the stride-8 phase), then resumed to 90."""
  model_dir = str(tmp_path_factory.mktemp('smoke'))
  first = train(model_dir, '--mode=train', '--seed=1',
                '--params_override=trainer.train_steps=20')
  second = train(model_dir, '--mode=train_and_eval', '--seed=1')
  return model_dir, first, second


def test_phases_switch_at_configured_steps_and_resume_mid_phase(smoke):
  model_dir, first, second = smoke
  # Phase entries: start, resume at step 20 (still stride 8), switch at 30.
  assert scalars(model_dir, 'train', 'retokenization/stride') == {
      0: 8, 20: 8, 30: 4}
  assert scalars(model_dir, 'train', 'retokenization/dilation') == {
      0: 2, 20: 2, 30: 1}
  assert 'phase 1: stride 8, dilation 2 from step 0 until 30' in first.stderr
  assert 'restored from checkpoint' in second.stderr
  assert 'phase 1: stride 8, dilation 2 from step 20 until 30' in (
      second.stderr)
  assert 'phase 2: stride 4, dilation 1 from step 30' in second.stderr


def test_loss_falls_within_each_phase(smoke):
  # Summaries every 5 steps; the one at step 30 still averages stride-8 steps.
  # The switch to stride 4 raises the loss of this toy model for a while, so
  # each phase is judged on its own: its last summaries against its first.
  losses = scalars(smoke[0], 'train', 'training_loss')
  assert sorted(losses) == list(range(5, 95, 5))
  for first, last in ((5, 30), (35, 90)):
    phase = [losses[step] for step in range(first, last + 5, 5)]
    assert sum(phase[-2:]) / 2 < sum(phase[:2]) / 2 - 0.1, phase


def test_same_seed_repeats_the_run(smoke, tmp_path):
  model_dir, first, _ = smoke
  train(str(tmp_path), '--mode=train', '--seed=1',
        '--params_override=trainer.train_steps=20')
  repeated = scalars(str(tmp_path), 'train', 'training_loss')
  assert list(repeated) == [5, 10, 15, 20]
  original = scalars(model_dir, 'train', 'training_loss')
  assert repeated == {step: original[step] for step in repeated}


def test_evaluation_reports_top1_at_full_resolution(smoke):
  model_dir, _, second = smoke
  top1 = scalars(model_dir, 'validation', 'accuracy')
  assert list(top1) == [90]
  assert 0.0 <= top1[90] <= 1.0
  assert "'accuracy'" in second.stderr + second.stdout


# The smoke fixture trains in the config's float32; these in mixed precision.
@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_trains_in_mixed_precision_with_falling_loss_in_each_phase(
    tmp_path, dtype):
  override = (f'{{runtime: {{mixed_precision_dtype: {dtype}}}, '
              'task: {retokenization: {phases: '
              '[{stride: 8, until_step: 20}]}}, '
              'trainer: {train_steps: 40, checkpoint_interval: 40}}')
  train(str(tmp_path), '--mode=train', '--seed=1',
        f'--params_override={override}')
  with open(tmp_path / 'params.yaml') as f:
    assert f'mixed_precision_dtype: {dtype}' in f.read()
  losses = scalars(str(tmp_path), 'train', 'training_loss')
  assert sorted(losses) == list(range(5, 45, 5))
  for first, last in ((5, 20), (25, 40)):
    phase = [losses[step] for step in range(first, last + 5, 5)]
    assert all(math.isfinite(loss) for loss in phase), phase
    assert phase[-1] < phase[0], phase


@pytest.mark.slow
def test_stride16_phase_and_dilations_at_128px(tmp_path):
  override = ('{task: {model: {input_size: [128, 128, 3]}, retokenization: '
              '{phases: [{stride: 16, until_step: 2}, '
              '{stride: 8, until_step: 4}]}}, '
              'trainer: {train_steps: 6, steps_per_loop: 3, '
              'summary_interval: 3, '
              'checkpoint_interval: 6}}')
  train(str(tmp_path), '--mode=train', f'--params_override={override}')
  assert scalars(str(tmp_path), 'train', 'retokenization/stride') == {
      0: 16, 2: 8, 4: 4}
  assert scalars(str(tmp_path), 'train', 'retokenization/dilation') == {
      0: 5, 2: 2, 4: 1}


@pytest.mark.parametrize('override, message', [
    ('task.retokenization.phases=[{stride: 16, until_step: 10}]',
     'retokenization phase 1: image 64x64 is too small for stride 16: '
     'allowed: sides of at least 128 pixels'),
    ('task.model.backbone.asvit.stride=8',
     'task.model.backbone.asvit.stride=8; allowed: 4 (train at stride 8 or '
     '16 through task.retokenization.phases)'),
])
def test_bad_stride_config_fails_in_one_line_before_training(
    tmp_path, override, message):
  result = run_train(str(tmp_path), '--mode=train',
                     f'--params_override={override}')
  assert result.returncode == 2, result.stderr[-3000:]
  assert result.stderr.rstrip().splitlines()[-1] == f'error: {message}'
  assert 'Traceback' not in result.stderr
  assert not glob.glob(os.path.join(str(tmp_path), 'ckpt-*'))
