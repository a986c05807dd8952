"""The EMA of the weights (Sec. 5.2's recipe) under float16 loss scaling.

For float16, Model Garden wraps the optimizer in a LossScaleOptimizer, around
its EMA wrapper when `optimizer_config.ema` is set. Nothing in Model Garden
expects that nesting: the EMA's `apply_gradients` refuses the
`experimental_aggregate_gradients` argument the LossScaleOptimizer passes,
and the trainer only makes the shadow copy and swaps the averages in for
evaluation when the EMA is the outermost optimizer. So the task turns the
nesting round: the EMA wraps the loss scaling, which wraps the optimizer.
Every Model Garden trainer then averages and swaps as for float32, and the
train step finds the loss scaling with `loss_scaler`.
"""

from typing import Optional

import tf_keras
from official.modeling import optimization
from official.modeling import performance
from official.modeling.optimization import ema_optimizer


def loss_scaler(optimizer) -> Optional[
    tf_keras.mixed_precision.LossScaleOptimizer]:
  """The loss scaling of `optimizer`, itself or under its EMA; None."""
  if isinstance(optimizer, ema_optimizer.ExponentialMovingAverage):
    optimizer = optimizer._optimizer  # pylint: disable=protected-access
  if isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer):
    return optimizer
  return None


class LossScaledEMA(ema_optimizer.ExponentialMovingAverage):
  """Model Garden's EMA around a LossScaleOptimizer.

  Its learning rate is read through the loss scaling's public property (the
  EMA reads the private hyperparameters of an OptimizerV2, which the loss
  scaling does not have).
  """

  @property
  def learning_rate(self):
    return self._optimizer.learning_rate

  @learning_rate.setter
  def learning_rate(self, value):
    self._optimizer.learning_rate = value

  lr = learning_rate


def ema_outside_loss_scaling(optimizer,
                             optimizer_config: optimization.OptimizationConfig,
                             loss_scale=None):
  """`optimizer` with an EMA under its loss scaling moved outside it."""
  if not isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer):
    return optimizer
  averaging = optimizer.inner_optimizer
  if not isinstance(averaging, ema_optimizer.ExponentialMovingAverage):
    return optimizer
  scaled = performance.configure_optimizer(
      averaging._optimizer,  # pylint: disable=protected-access
      use_float16=True, loss_scale=loss_scale)
  return LossScaledEMA(scaled, **optimizer_config.ema.as_dict())
