"""Which of TF's graph optimizations (Grappler) each metric's function gets.

A search step or a scaling candidate is a topology never measured before, so
each metric's traced function is optimized on its first call and then called
once per initialization. The optimizer's cost is that first call's; its gain
is in the calls. Measured pass by pass (benchmarks/README.md):

- The NTK's per-example gradients run no faster optimized (at 224 and at 32),
  so they get no Grappler: a never-seen topology's NTK costs 6 % (224, 5
  initializations) to 20 % (32, 2) less.
- L_E's transposed reverse pass needs dependency optimization, which prunes
  the reverse pass's unused branches: without it, or without Grappler, its
  calls run 1.6x slower. Dependency optimization and constant folding alone
  keep those calls as fast as every pass does and take 0.07-0.1 s off a
  topology's first call: 8 % of a never-seen topology's L_E at 32 with 2
  initializations, within noise at 224 with 5.

The metric values move only by float32 rounding (below 1e-7 relative).
"""

import contextlib
from typing import Collection, Iterator

import tensorflow as tf

# The passes that TF's optimizer options switch (tf.config.optimizer).
SWITCHABLE_PASSES = (
    'layout_optimizer', 'constant_folding', 'shape_optimization', 'remapping',
    'arithmetic_optimization', 'dependency_optimization', 'loop_optimization',
    'function_optimization', 'debug_stripper', 'implementation_selector',
    'pin_to_host_optimization', 'use_plugin_optimizers')
LENGTH_DISTORTION_PASSES = ('dependency_optimization', 'constant_folding')
NTK_PASSES = ()


@contextlib.contextmanager
def passes(keep: Collection[str]) -> Iterator[None]:
  """Functions first called inside are optimized by the passes in `keep`
  alone (none: Grappler off); TF's process-wide options are restored on
  exit."""
  if keep:
    options = {name: name in keep for name in SWITCHABLE_PASSES}
  else:
    options = {'disable_meta_optimizer': True}
  previous = tf.config.optimizer.get_experimental_options()
  tf.config.optimizer.set_experimental_options(options)
  try:
    yield
  finally:
    # An option absent before was unset: None unsets it again.
    tf.config.optimizer.set_experimental_options(
        {name: previous.get(name) for name in options})
