"""The EMA of the weights (Sec. 5.2's recipe) under float16 loss scaling.

For float16, Model Garden wraps the optimizer in a LossScaleOptimizer, around
its EMA wrapper when `optimizer_config.ema` is set. Two parts of Model Garden
do not expect that nesting: its EMA's `apply_gradients` refuses the
`experimental_aggregate_gradients` argument the LossScaleOptimizer passes,
and its trainer only makes the shadow copy and swaps the averages in for
evaluation when the EMA is the outermost optimizer. `LossScalableEMA` takes
the argument; `loss_scaled_ema` finds the EMA under the loss scaling and
`averaging_optimizer` finds it anywhere.
"""

from typing import Optional

import tensorflow as tf
import tf_keras
from official.modeling import optimization
from official.modeling import performance
from official.modeling.optimization import ema_optimizer


class LossScalableEMA(ema_optimizer.ExponentialMovingAverage):
  """Model Garden's EMA wrapper that a LossScaleOptimizer can wrap."""

  def apply_gradients(self, grads_and_vars, name: Optional[str] = None,
                      experimental_aggregate_gradients: bool = True):
    # The LossScaleOptimizer has already aggregated the gradients over the
    # replicas and says so; the inner optimizer must not sum them again.
    result = self._optimizer.apply_gradients(
        grads_and_vars, name,
        experimental_aggregate_gradients=experimental_aggregate_gradients)
    ema_optimizer.maybe_merge_call(self.update_average,
                                   tf.distribute.get_strategy())
    return result


def loss_scaled_ema(optimizer) -> Optional[
    ema_optimizer.ExponentialMovingAverage]:
  """The EMA wrapper right under `optimizer`'s loss scaling, if any."""
  if isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer) and (
      isinstance(optimizer.inner_optimizer,
                 ema_optimizer.ExponentialMovingAverage)):
    return optimizer.inner_optimizer
  return None


def averaging_optimizer(optimizer) -> Optional[
    ema_optimizer.ExponentialMovingAverage]:
  """`optimizer`'s EMA wrapper, outermost or under loss scaling, if any."""
  if isinstance(optimizer, ema_optimizer.ExponentialMovingAverage):
    return optimizer
  return loss_scaled_ema(optimizer)


def make_loss_scalable(optimizer,
                       optimizer_config: optimization.OptimizationConfig,
                       loss_scale=None):
  """`optimizer` with a loss-scaled EMA rebuilt as LossScalableEMA."""
  averaging = loss_scaled_ema(optimizer)
  if averaging is None:
    return optimizer
  return performance.configure_optimizer(
      LossScalableEMA(averaging._optimizer,  # pylint: disable=protected-access
                      **optimizer_config.ema.as_dict()),
      use_float16=True, loss_scale=loss_scale)
