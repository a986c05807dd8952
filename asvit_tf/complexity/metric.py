"""The metric function both algorithms call: `(arch, seed) -> (L_E, kappa)`.

The search and the scaling only see this signature, so tests can inject
contrived metrics; the binaries wire asvit_tf.complexity.Measurer here
(length distortion and the NTK condition number, docs/design.md section 2,
both the mean over `repeats` initializations drawn from `seed`).

The Measurer gives the same values for the same (arch, seed) within a
process history, but TF's CPU kernels change the last bits (about 1e-10
relative, measured) with what the process measured before and with its
intra-op thread count. So that a resumed
run equals an uninterrupted one, values are rounded to `SIGNIFICANT_DIGITS`
significant digits, far finer than their spread over initializations.
"""

import math
from typing import Callable, Optional, Tuple

from asvit_tf import complexity
from asvit_tf import errors
from asvit_tf.complexity import measurer as measurer_lib
from asvit_tf.complexity import parallel
from asvit_tf.data import sources
from asvit_tf.modeling import arch as arch_lib

MetricFn = Callable[[arch_lib.ArchSpec, int], Tuple[float, float]]
SIGNIFICANT_DIGITS = 5


def significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
  """`value` rounded to `digits` significant digits; non-finite unchanged."""
  if not math.isfinite(value) or value == 0:
    return value
  return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def measurer_metric(image_size: int, data: str, repeats: int,
                    ntk_batch_size: int, seed: int,
                    tfds_data_dir: Optional[str] = None,
                    ntk_parameters: str = 'weights',
                    workers: int = 1) -> MetricFn:
  """L_E and NTK condition number, on `ntk_batch_size` real images.

  The run `seed` draws the input circles and NTK batches once, one per
  initialization index, for every architecture of the run (authors' code);
  the metric seed of each call draws the initializations. `workers`: 1
  measures in this process, 2 each metric in its own process at once
  (asvit_tf.complexity.parallel), same values.
  """
  if workers not in (1, len(parallel.WORKER_METRICS)):
    raise errors.UsageError(f'metric_workers={workers}; allowed: 1, '
                            f'{len(parallel.WORKER_METRICS)}')
  settings = complexity.Settings(ntk_batch_size=ntk_batch_size,
                                 ntk_parameters=ntk_parameters)
  images = sources.load_images(
      data, image_size, measurer_lib.ntk_image_count(settings, repeats),
      seed=seed, tfds_data_dir=tfds_data_dir)
  if workers > 1:
    measure_both = parallel.TwoProcessMeasurer(
        image_size, images, settings, repeats, seed).measure
  else:
    measurer = complexity.Measurer(image_size, images=images,
                                   settings=settings, repeats=repeats,
                                   seed=seed)

    def measure_both(arch: arch_lib.ArchSpec,
                     metric_seed: int) -> Tuple[float, float]:
      results = measurer.measure(arch, metrics=parallel.WORKER_METRICS,
                                 seed=metric_seed)
      return (results['length_distortion'].mean, results['ntk'].mean)

  def measure(arch: arch_lib.ArchSpec, metric_seed: int) -> Tuple[float, float]:
    length, kappa = measure_both(arch, metric_seed)
    return significant(float(length)), significant(float(kappa))

  return measure
