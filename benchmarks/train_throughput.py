"""Training throughput of As-ViT Small beside Model Garden's ViT-S/16.

  python -m benchmarks.train_throughput --precision=float32,bfloat16 \
    --batch_size=8 --steps=3 --format=json

Images per second of a full training step at 224x224 through the Model
Garden task's own `train_step` that `asvit_tf.train` runs (forward, loss,
backward, the recipe's AdamW with its EMA of the weights, float16 loss
scaling), for each precision given (Model Garden's mixed precision policies:
variables float32, layers in bfloat16 or float16), both models in one run.
Beside it the achieved FLOP/s (6 x forward MACs an image: 2 FLOPs a MAC,
backward = 2 x forward) as a fraction of this machine's measured matmul peak
in the same dtype.

A third row bounds what a faster attention kernel could give As-ViT Small:
the step timed with the attention core, softmax(q k^T) v with its gradient,
replaced by its value input, plus the core's FLOPs at the matmul peak. A
fused kernel can at best reach that bound; the rest of the step (the linear
layers, LayerNorm, GELU, the windowing) is what remains.
"""

import json
import time
from typing import Any, Callable, Dict, List, Tuple
from unittest import mock

from absl import flags
import tensorflow as tf
import tf_keras
from official.core import base_task
from official.core import exp_factory
from official.modeling import performance
from official.vision.configs import backbones as mg_backbones
from official.vision.configs import image_classification as mg_cls
from official.vision.tasks import image_classification as mg_cls_task

from asvit_tf import cli
from asvit_tf import counting
from asvit_tf import errors
from asvit_tf import precision
from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf.modeling.layers import attention
from asvit_tf.tasks import float16_ema
from asvit_tf.tasks import image_classification as asvit_cls_task
from benchmarks import machine_peaks

BATCH = flags.DEFINE_integer('batch_size', 4, 'Images a training step.',
                             lower_bound=1)
STEPS = flags.DEFINE_integer('steps', 3, 'Timed steps (after one warm-up).',
                             lower_bound=1)
IMAGE_SIZE = flags.DEFINE_integer('image_size', 224, 'Square input side.',
                                 lower_bound=1)
FORMAT = flags.DEFINE_enum('format', 'table', ['table', 'json'],
                            'Output format.')
PRECISION = flags.DEFINE_list(
    'precision', ['float32', 'bfloat16'], 'Precisions to time, in order: '
    f'{", ".join(precision.DTYPES)}.')
NUM_CLASSES = 1000
# The flags above are shared with benchmarks/retokenization.py.


def train_step_seconds(task: base_task.Task, model: tf_keras.Model,
                       optimizer, batch_size: int, image_size: int,
                       steps: int) -> float:
  """Median seconds of `task.train_step` (a fresh trace each call)."""
  images = tf.random.normal([batch_size, image_size, image_size, 3], seed=0)
  labels = tf.one_hot(tf.random.uniform([batch_size], 0, NUM_CLASSES,
                                        tf.int32, seed=0), NUM_CLASSES)
  step = tf.function(
      lambda: task.train_step((images, labels), model, optimizer)[task.loss])
  step().numpy()  # Trace and warm up.
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    step().numpy()
    times.append(time.perf_counter() - start)
  return sorted(times)[len(times) // 2]


def asvit_task(image_size: int, arch: str = 'small') -> base_task.Task:
  """The `asvit_imagenet` recipe's task for `arch`, no stochastic depth."""
  config = exp_factory.get_exp_config('asvit_imagenet').task
  config.override({'model': {
      'num_classes': NUM_CLASSES, 'input_size': [image_size, image_size, 3],
      'backbone': {'asvit': {'arch': arch, 'drop_path_rate': 0.0}}}})
  return asvit_cls_task.AsViTClassificationTask(config)


def vit_s16_task(image_size: int) -> base_task.Task:
  """Model Garden's classification task with its ViT-S/16 (`vit-s16`) and
  the same losses."""
  config = mg_cls.ImageClassificationTask(
      model=mg_cls.ImageClassificationModel(
          num_classes=NUM_CLASSES, input_size=[image_size, image_size, 3],
          backbone=mg_backbones.Backbone(
              type='vit',
              vit=mg_backbones.VisionTransformer(model_name='vit-s16'))),
      losses=exp_factory.get_exp_config('asvit_imagenet').task.losses)
  return mg_cls_task.ImageClassificationTask(config)


def build(make_task: Callable[[int], base_task.Task], dtype: str,
          image_size: int) -> Tuple[base_task.Task, tf_keras.Model, Any]:
  """Task, model and the recipe's optimizer under the `dtype` policy."""
  performance.set_mixed_precision_policy(dtype)
  task = make_task(image_size)
  model = task.build_model()
  recipe = exp_factory.get_exp_config('asvit_imagenet')
  recipe.override({'runtime': {'mixed_precision_dtype': dtype}})
  # The recipe's AdamW and EMA, the EMA outside any float16 loss scaling as
  # the As-ViT task builds it (Model Garden's ViT task trains unscaled then:
  # the same arithmetic per step).
  optimizer = float16_ema.ema_outside_loss_scaling(
      task.create_optimizer(recipe.trainer.optimizer_config, recipe.runtime),
      recipe.trainer.optimizer_config, recipe.runtime.loss_scale)
  optimizer.shadow_copy(model)
  return task, model, optimizer


def throughput(name: str, dtype: str, macs: int, batch_size: int,
               seconds: float, peak: float) -> Dict[str, Any]:
  """A result row: `macs` an image, a step of `batch_size` in `seconds`."""
  images_per_second = batch_size / seconds
  achieved = images_per_second * 6 * macs
  return {'model': name, 'precision': dtype, 'macs': macs,
          'gmacs': macs / 1e9, 'step_seconds': seconds,
          'images_per_second': images_per_second,
          'achieved_tflops': achieved / 1e12,
          'fraction_of_peak': achieved / peak}


def measure_precision(dtype: str, batch_size: int, image_size: int,
                      steps: int, peak: float) -> List[Dict[str, Any]]:
  """The three rows of one precision."""
  rows = []
  for name, make_task in (('As-ViT Small', asvit_task),
                          ('Model Garden ViT-S/16', vit_s16_task)):
    task, model, optimizer = build(make_task, dtype, image_size)
    macs = counting.count_macs(model, image_size, image_size)['total']
    rows.append(throughput(
        name, dtype, macs, batch_size,
        train_step_seconds(task, model, optimizer, batch_size, image_size,
                           steps), peak))
  macs = rows[0]['macs']
  with mock.patch.object(attention, 'attend', lambda q, k, v: v):
    task, model, optimizer = build(asvit_task, dtype, image_size)
    rest_macs = counting.count_macs(model, image_size, image_size)['total']
    rest_seconds = train_step_seconds(task, model, optimizer, batch_size,
                                      image_size, steps)
  core_seconds_at_peak = batch_size * 6 * (macs - rest_macs) / peak
  bound = throughput('As-ViT Small, attention at peak (bound)', dtype, macs,
                     batch_size, rest_seconds + core_seconds_at_peak, peak)
  bound.update(attention_core_gmacs=(macs - rest_macs) / 1e9,
               step_seconds_without_core=rest_seconds)
  performance.set_mixed_precision_policy('float32')
  return rows + [bound]


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  size, batch, steps = IMAGE_SIZE.value, BATCH.value, STEPS.value
  for dtype in PRECISION.value:
    if dtype not in precision.DTYPES:
      raise errors.UsageError(f'--precision={dtype}; allowed: '
                              f'{", ".join(precision.DTYPES)}')
  peaks = {dtype: machine_peaks.matmul_peak_flops(dtype)
           for dtype in PRECISION.value}
  rows = [row for dtype in PRECISION.value
          for row in measure_precision(dtype, batch, size, steps,
                                       peaks[dtype])]
  result = {'image_size': size, 'batch_size': batch, 'steps': steps,
            'precisions': PRECISION.value,
            'matmul_peak_tflops': {d: p / 1e12 for d, p in peaks.items()},
            'models': rows}
  if FORMAT.value == 'json':
    print(json.dumps(result, indent=2))
    return
  print(f'{size}x{size}, batch {batch}, {steps} timed steps; matmul peak ' +
        ', '.join(f'{d} {p / 1e12:.3f}' for d, p in peaks.items()) +
        ' TFLOP/s')
  print(f'{"model":<40} {"dtype":>8} {"GMACs":>6} {"s/step":>7} '
        f'{"img/s":>7} {"TFLOP/s":>8} {"of peak":>8} {"speed-up":>8}')
  first = {row['model']: row for row in rows
           if row['precision'] == PRECISION.value[0]}
  for row in rows:
    speedup = (row['images_per_second'] /
               first[row['model']]['images_per_second'])
    print(f'{row["model"]:<40} {row["precision"]:>8} {row["gmacs"]:>6.2f} '
          f'{row["step_seconds"]:>7.3f} {row["images_per_second"]:>7.2f} '
          f'{row["achieved_tflops"]:>8.4f} {row["fraction_of_peak"]:>8.1%} '
          f'{speedup:>7.2f}x')


if __name__ == '__main__':
  cli.run(main)
