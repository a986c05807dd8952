"""Training on the CPU smoke config through asvit_tf.train and Model Garden's
own driver: phases, resume, loss, top-1."""

import math
import os
import re

from official.core import task_factory
from official.core import train_utils
import pytest
import tensorflow as tf

from asvit_tf import errors
from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf import report as report_lib
from asvit_tf import trainer as trainer_lib
from tests import helpers


def run_train(model_dir, *flags):
  return helpers.run_module(
      'asvit_tf.train', '--experiment=asvit_imagenet',
      f'--config_file={helpers.SMOKE_CONFIG}', f'--model_dir={model_dir}',
      *flags, timeout=400)


def train(model_dir, *flags):
  result = run_train(model_dir, *flags)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def scalars(model_dir, subdir, tag):
  """{step: value} of a scalar in the event files of `model_dir/subdir`."""
  rows = report_lib.read_scalars(os.path.join(model_dir, subdir)).get(tag, [])
  return {row['step']: row['value'] for row in rows}


def readme_model_garden_launcher():
  """The script README's "Model Garden" section gives for Model Garden's own
  driver (`official/vision/train.py` with the project's registry)."""
  with open(os.path.join(helpers.ROOT, 'README.md')) as f:
    section = f.read().split('## Model Garden\n')[1].split('\n## ')[0]
  return re.search(r'```python\n(.*?)```', section, flags=re.S).group(1)


# The smoke config's phases: stride 8 before step 30, stride 4 from it on.
SMOKE_STRIDES = {step: 8 if step <= 30 else 4 for step in range(5, 95, 5)}


def run_model_garden_main(model_dir, *flags):
  result = helpers.run_code(
      readme_model_garden_launcher(), '--experiment=asvit_imagenet',
      f'--config_file={helpers.SMOKE_CONFIG}', f'--model_dir={model_dir}',
      *flags, timeout=400)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
  """The smoke config through asvit_tf.train: 90 steps, then evaluation."""
  model_dir = str(tmp_path_factory.mktemp('smoke'))
  return model_dir, train(model_dir, '--mode=train_and_eval', '--seed=1')


def test_stride_follows_the_phases_through_asvit_train(smoke):
  # Summaries every 5 steps; the one at step 30 averages steps 25-29.
  model_dir, result = smoke
  assert scalars(model_dir, 'train', 'retokenization/stride') == SMOKE_STRIDES
  assert 'phase 1: stride 8, dilation 2 from step 0 until 30' in result.stderr
  assert 'phase 2: stride 4, dilation 1 from step 30' in result.stderr


@pytest.mark.slow
def test_model_garden_driver_follows_the_phases_and_resumes_mid_phase(
    tmp_path):
  # Stopped at step 20, inside the stride-8 phase, then resumed to step 40:
  # the resumed run trains at stride 8 until step 30, then at stride 4.
  model_dir = str(tmp_path)
  run_model_garden_main(model_dir, '--mode=train',
                        '--params_override=trainer.train_steps=20')
  resumed = run_model_garden_main(model_dir, '--mode=train',
                                  '--params_override=trainer.train_steps=40')
  assert 'restored from checkpoint' in resumed.stderr
  assert scalars(model_dir, 'train', 'retokenization/stride') == {
      step: SMOKE_STRIDES[step] for step in range(5, 45, 5)}


def test_each_training_loop_prints_its_step_and_the_eta(smoke):
  # Loops of 5 steps; the first, which traces, gives no pace yet.
  lines = re.findall(r'^train \| step (\d+)/90 \| ETA (\S+)$',
                     smoke[1].stdout, re.M)
  assert [int(step) for step, _ in lines] == list(range(5, 95, 5))
  assert lines[0][1] == '?' and lines[-1][1] == '0s'
  assert all(re.fullmatch(r'(\d+m)?\d+s', left) for _, left in lines[1:])


def test_loss_falls_within_each_phase(smoke):
  # Summaries every 5 steps; the one at step 30 still averages stride-8 steps.
  # The switch to stride 4 raises the loss of this toy model for a while, so
  # each phase is judged on its own: its last summaries against its first.
  losses = scalars(smoke[0], 'train', 'training_loss')
  assert sorted(losses) == list(range(5, 95, 5))
  for first, last in ((5, 30), (35, 90)):
    phase = [losses[step] for step in range(first, last + 5, 5)]
    assert sum(phase[-2:]) / 2 < sum(phase[:2]) / 2 - 0.1, phase


@pytest.mark.slow
def test_same_seed_repeats_the_run(smoke, tmp_path):
  model_dir, _ = smoke
  train(str(tmp_path), '--mode=train', '--seed=1',
        '--params_override=trainer.train_steps=20')
  repeated = scalars(str(tmp_path), 'train', 'training_loss')
  assert list(repeated) == [5, 10, 15, 20]
  original = scalars(model_dir, 'train', 'training_loss')
  assert repeated == {step: original[step] for step in repeated}


def test_evaluation_reports_top1(smoke):
  model_dir, result = smoke
  top1 = scalars(model_dir, 'validation', 'accuracy')
  assert list(top1) == [90]
  assert 0.0 <= top1[90] <= 1.0
  assert "'accuracy'" in result.stderr + result.stdout


# The smoke fixture trains in the config's float32; these in mixed precision.
@pytest.mark.slow
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
def test_stride16_phase_at_128px(tmp_path):
  override = ('{task: {model: {input_size: [128, 128, 3]}, retokenization: '
              '{phases: [{stride: 16, until_step: 2}, '
              '{stride: 8, until_step: 4}]}}, '
              'trainer: {train_steps: 6, steps_per_loop: 2, '
              'summary_interval: 2, checkpoint_interval: 6}}')
  result = train(str(tmp_path), '--mode=train', f'--params_override={override}')
  assert scalars(str(tmp_path), 'train', 'retokenization/stride') == {
      2: 16, 4: 8, 6: 4}
  assert 'phase 1: stride 16, dilation 5 from step 0 until 2' in result.stderr


def test_model_dir_of_another_model_is_refused_before_any_write(smoke):
  model_dir = smoke[0]
  before = helpers.snapshot(model_dir)
  arch = '4,2,2,1|2,1,2,1|2,1,2,1|2,1,2,1|16,32'
  result = run_train(
      model_dir, '--mode=train',
      f"--params_override={{task: {{model: {{backbone: {{asvit: {{arch: '{arch}'}}}}}}}}}}")
  helpers.assert_one_line_error(
      result, f'error: --model_dir={model_dir} holds a run of another model: '
      "task.model.backbone.asvit.arch='4,2,2,1|2,1,2,1|2,1,2,1|2,1,2,1|16,16' "
      f"(now '{arch}'); allowed: ")
  assert helpers.snapshot(model_dir) == before


@pytest.mark.parametrize('override, message', [
    ('trainer.train_steps=abc',
     "trainer.train_steps='abc' is not of type int; allowed: a value of type "
     'int'),
    ('task.retokenization.phases=[{stride: 16, until_step: 10}]',
     'retokenization phase 1: image 64x64 is too small for stride 16; '
     'allowed: sides of at least 128 pixels'),
    ('task.model.backbone.asvit.stride=8',
     'task.model.backbone.asvit.stride=8; allowed: 4 (train at stride 8 or '
     '16 through task.retokenization.phases)'),
])
def test_bad_config_fails_in_one_line_before_any_write(
    tmp_path, override, message):
  result = run_train(str(tmp_path), '--mode=train',
                     f'--params_override={override}')
  helpers.assert_one_line_error(result, f'error: {message}')
  assert result.stderr.rstrip().splitlines()[-1] == f'error: {message}'
  assert not os.listdir(tmp_path)


def test_a_diverging_loss_ends_the_run_in_one_line(tmp_path):
  """Model Garden's loss-recovery action ends it with a RuntimeError, whose
  traceback was the run's last output."""
  result = run_train(
      str(tmp_path), '--mode=train',
      '--params_override=trainer.train_steps=2,trainer.steps_per_loop=2,'
      'trainer.summary_interval=2,trainer.optimizer_config.warmup.linear.'
      'warmup_steps=0,trainer.optimizer_config.learning_rate.cosine.'
      'initial_learning_rate=1e12')
  helpers.assert_one_line_error(
      result, 'error: training stopped at step 2: the loss value is NaN ')
  assert result.stderr.rstrip().endswith(
      'allowed: a lower trainer.optimizer_config.learning_rate, or '
      'trainer.recovery_max_trials above 0 to go on from the last checkpoint')


def build_check_and_train_the_smoke_model(model_dir: str) -> None:
  """What asvit_tf.train does before its first step, counting the models
  built; raises unless the checked model is the one trained. Forked: the
  binary's module defines its flags."""
  from asvit_tf import train  # pylint: disable=g-import-not-at-top
  from asvit_tf.tasks import image_classification  # pylint: disable=g-import-not-at-top
  built = []
  task_cls = image_classification.AsViTClassificationTask
  build = task_cls.build_model
  task_cls.build_model = lambda task: built.append(build(task)) or built[-1]
  params = helpers.smoke_params()
  setup = train.set_up_before_writing(params, 'train', model_dir)
  with setup.strategy.scope():
    trainer = trainer_lib.create_trainer(params, setup.task, 'train',
                                         model_dir, setup.model)
  assert built == [setup.model] and trainer.model is setup.model, built


def test_the_checked_model_is_the_trained_one(tmp_path):
  # asvit_tf.train builds the model once: the model checked against the
  # model_dir before anything is written is the one the trainer trains.
  result = helpers.run_forked(build_check_and_train_the_smoke_model,
                              str(tmp_path))
  assert result.returncode == 0, result.stderr[-3000:]


def test_first_training_loop_is_traced_once(tmp_path):
  # asvit_tf.trainer: the optimizer's variables exist before the first step,
  # whose traced loop would otherwise make them and be traced again without
  # them (Model Garden's own trainer: twice). Under float16 the optimizer is
  # AdamW inside the loss scaling inside the EMA.
  params = helpers.smoke_params('runtime.mixed_precision_dtype=float16')
  with helpers.keras_policy('mixed_float16'):
    task = task_factory.get_task(params.task, logging_dir=str(tmp_path))
    trainer = train_utils.create_trainer(
        params, task, train=True, evaluate=False,
        trainer_cls=trainer_lib.Trainer)
    logs = trainer.train(tf.constant(1))
  assert math.isfinite(float(logs['training_loss']))
  loop = trainer._train_loop_fn  # pylint: disable=protected-access
  assert loop.experimental_get_tracing_count() == 1


def test_a_best_checkpoint_metric_the_evaluation_lacks_is_one_line(tmp_path):
  # Model Garden's trainer raised a KeyError after the first evaluation.
  params = helpers.smoke_params(
      'trainer.best_checkpoint_export_subdir=best,'
      'trainer.best_checkpoint_eval_metric=acuracy')
  # The EMA swaps weights for evaluation inside a strategy only.
  with tf.distribute.OneDeviceStrategy('/cpu:0').scope():
    task = task_factory.get_task(params.task, logging_dir=str(tmp_path))
    trainer = trainer_lib.create_trainer(params, task, 'eval', str(tmp_path),
                                         task.build_model())
    with pytest.raises(errors.UsageError) as raised:
      trainer.evaluate(tf.constant(1))
  assert str(raised.value) == (
      "trainer.best_checkpoint_eval_metric='acuracy' is not among the "
      "evaluation's results; allowed: accuracy, top_5_accuracy, "
      'validation_loss')
