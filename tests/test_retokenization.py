"""The re-tokenization phase schedule (Sec. 4, Table 6) and the task's
training step that follows it."""


import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from official.core import task_factory

from asvit_tf import errors
from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf import retokenization
from asvit_tf import trainer as trainer_lib
from asvit_tf.configs import image_classification as cfg
from tests import helpers


def schedule(*phases, steps_per_epoch=0):
  return retokenization.Schedule.from_config(cfg.Retokenization(
      phases=[cfg.RetokenizationPhase(**p) for p in phases],
      steps_per_epoch=steps_per_epoch))


def test_phase_of_every_step_from_epochs_and_steps():
  s = schedule({'stride': 16, 'until_epoch': 2},
               {'stride': 8, 'until_step': 25}, steps_per_epoch=10)
  strides = [s.phase_at(step).stride for step in range(30)]
  assert strides == [16] * 20 + [8] * 5 + [4] * 5
  assert [(p.start_step, p.end_step) for p in s.phases] == [
      (0, 20), (20, 25), (25, None)]
  assert s.phase_at(21).steps_left(21) == 4
  assert s.phase_at(10 ** 9).index == 2
  steps = list(range(30)) + [10 ** 9]
  indices = [s.phase_index(tf.constant(step, tf.int64)) for step in steps]
  assert [s.stride_of(i).numpy() for i in indices] == strides + [4]


def test_empty_schedule_is_the_baseline():
  s = schedule()
  assert [(p.stride, p.start_step, p.end_step) for p in s.phases] == [
      (4, 0, None)]
  assert s.phase_index(tf.constant(7)).numpy() == 0


@pytest.mark.parametrize('phases, steps_per_epoch, fragment', [
    (({'stride': 12, 'until_step': 5},), 0, 'stride=12'),
    (({'stride': 4, 'until_step': 5},), 0, 'stride=4'),
    (({'stride': 16, 'until_step': 5}, {'stride': 8, 'until_step': 5}), 0,
     'not after its start 5'),
    (({'stride': 16},), 0, 'exactly one of'),
    (({'stride': 16, 'until_step': 3, 'until_epoch': 1},), 10,
     'exactly one of'),
    (({'stride': 16, 'until_epoch': 1},), 0, 'steps_per_epoch=0'),
])
def test_bad_schedules_name_the_phase(phases, steps_per_epoch, fragment):
  with pytest.raises(errors.UsageError, match=fragment):
    schedule(*phases, steps_per_epoch=steps_per_epoch)


@pytest.mark.parametrize('key', sorted(retokenization.TABLE6_SCHEDULES))
def test_paper_flops_ratios_give_table6_savings(key):
  # Fig. 4's 13.2 % and 28.5 % reproduce Table 6's FLOPs savings.
  fraction = retokenization.cost_fraction(
      retokenization.TABLE6_SCHEDULES[key], retokenization.PAPER_FLOPS_RATIO)
  assert 1 - fraction == pytest.approx(float(key.rstrip('%')) / 100,
                                       abs=6e-4)


def test_one_traced_train_step_follows_the_optimizer_step():
  # The smoke config: stride 8 before step 30, then 4. No stochastic depth,
  # so a step's loss is a function of the weights and the stride.
  params = helpers.smoke_params(
      'task.model.backbone.asvit.drop_path_rate=0.0')
  task = task_factory.get_task(params.task)
  # Seeded weights, whatever ran before in this process: at step 0 the two
  # strides' losses differ by 0.035 with them, by under 1e-3 with some
  # other initializations.
  tf_keras.utils.set_random_seed(2)
  model = task.build_model()
  optimizer = task.create_optimizer(params.trainer.optimizer_config)
  optimizer.shadow_copy(model)  # The EMA, as Model Garden's trainer does.
  # The optimizer's slots, as asvit_tf.trainer does: one trace, not two.
  trainer_lib.make_optimizer_variables(optimizer, model.trainable_variables)
  metrics = task.build_metrics(training=True)
  images = tf.random.stateless_normal([4, 64, 64, 3], [1, 2])
  labels = tf.one_hot([1, 2, 3, 4], 10)  # Mixup's soft-label format.
  train_step = tf.function(
      lambda: task.train_step((images, labels), model, optimizer, metrics))

  def loss_at(stride):
    with retokenization.at_stride(model.backbone, stride):
      return task.build_losses(labels=labels,
                               model_outputs=model(images, training=True))

  traces = None
  for step, stride in ((0, 8), (29, 8), (30, 4), (31, 4)):
    optimizer.iterations.assign(step)
    expected = loss_at(stride).numpy()
    assert abs(expected - loss_at(12 - stride).numpy()) > 1e-3
    np.testing.assert_allclose(train_step()['loss'], expected, rtol=1e-5)
    traces = traces or train_step.experimental_get_tracing_count()
  assert traces == train_step.experimental_get_tracing_count() == 1
  assert optimizer.iterations.numpy() == 32
  stride_metric = [m for m in metrics
                   if isinstance(m, retokenization.StrideMetric)]
  assert [m.result().numpy() for m in stride_metric] == [6.0]

  # Evaluation, outside the training step, runs at stride 4.
  assert model.backbone.stride == 4
  validation_metrics = task.build_metrics(training=False)
  validation = tf.function(lambda: task.validation_step(
      (images, tf.constant([1, 2, 3, 4])), model, validation_metrics))
  expected = task.build_losses(labels=labels,
                               model_outputs=model(images, training=False))
  np.testing.assert_allclose(validation()['loss'], expected, rtol=1e-5)
