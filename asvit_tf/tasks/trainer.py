"""A Model Garden trainer that follows the re-tokenization phases (Sec. 4).

`train(num_steps)` is split at phase boundaries. Entering a phase sets the
backbone's stride (the dilation follows) and drops the traced train loop, so
Orbit retraces it once per phase, not every step. The phase comes from the
global step, so a resumed run continues in the phase of its checkpoint.
Evaluation always runs at full resolution (stride 4), with the EMA of the
weights also under float16 loss scaling.
"""

from absl import logging
import tensorflow as tf
from official.core import base_trainer

from asvit_tf import retokenization
from asvit_tf.modeling import window_policy
from asvit_tf.tasks import float16_ema


class RetokenizationTrainer(base_trainer.Trainer):
  """`base_trainer.Trainer` with the stride schedule of the task config."""

  def __init__(self, config, task, model, optimizer, **kwargs):
    schedule = retokenization.Schedule.from_config(config.task.retokenization)
    for phase in schedule.phases:  # Before the datasets are built.
      try:
        model.backbone.check_stride(phase.stride)
      except window_policy.WindowError as e:
        raise window_policy.WindowError(
            f'retokenization phase {phase.index + 1}: {e}') from None
    super().__init__(config, task, model, optimizer, **kwargs)
    # Model Garden's trainer handles an outermost EMA itself.
    self._scaled_ema = float16_ema.loss_scaled_ema(optimizer)
    if self._scaled_ema and not self._scaled_ema.has_shadow_copy:
      self._scaled_ema.shadow_copy(model)
    self._schedule = schedule
    self._traced_stride = None

  @property
  def schedule(self) -> retokenization.Schedule:
    return self._schedule

  def _enter_phase(self, phase: retokenization.Phase) -> None:
    """Sets the phase's stride; on a change, logs it and drops the loop."""
    self.model.backbone.stride = phase.stride
    embed = self.model.backbone.patch_embed
    if phase.stride == self._traced_stride:
      return
    self._traced_stride = phase.stride
    self._train_loop_fn = None  # Orbit traces a new loop at this stride.
    step = int(self.global_step.numpy())
    logging.info('re-tokenization phase %d: stride %d, dilation %d from step '
                 '%d until %s', phase.index + 1, phase.stride, embed.dilation,
                 step, phase.end_step or 'the end')
    with tf.summary.record_if(True):
      tf.summary.scalar('retokenization/stride', phase.stride, step=step)
      tf.summary.scalar('retokenization/dilation', embed.dilation, step=step)

  def train(self, num_steps):
    """Orbit's `StandardTrainer.train`, split at phase boundaries."""
    self.train_loop_begin()
    if self._train_iter is None:
      self._train_iter = tf.nest.map_structure(iter, self.train_dataset)
    remaining = int(num_steps)
    while remaining > 0:
      step = int(self.global_step.numpy())
      phase = self._schedule.phase_at(step)
      self._enter_phase(phase)
      chunk = min(remaining, phase.steps_left(step) or remaining)
      if self._train_loop_fn is None:
        self._train_loop_fn = self.create_train_loop_fn()
      self._train_loop_fn(self._train_iter, tf.constant(chunk, tf.int32))
      remaining -= chunk
    return self.train_loop_end()

  def eval_begin(self):
    """Evaluates at full resolution (and on the averaged weights)."""
    self.model.backbone.stride = retokenization.FULL_RESOLUTION_STRIDE
    if self._scaled_ema:
      self._scaled_ema.swap_weights()
    return super().eval_begin()

  def eval_end(self, aggregated_logs=None):
    """Restores the training stride (and weights) after evaluation."""
    logs = super().eval_end(aggregated_logs)
    if self._scaled_ema:
      self._scaled_ema.swap_weights()
    if self._traced_stride is not None:
      self.model.backbone.stride = self._traced_stride
    return logs
