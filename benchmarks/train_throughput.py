"""Training throughput of As-ViT Small beside Model Garden's ViT-S/16.

  python -m benchmarks.train_throughput --batch_size=4 --steps=3 --format=json

Images per second of a full training step (forward, backward, AdamW update)
at 224x224 in float32, and the achieved FLOP/s (6 x forward MACs an image:
2 FLOPs a MAC, backward = 2 x forward) as a fraction of this machine's
measured float32 matmul peak; both models at the same batch and precision in
one run.

A third row bounds what a faster attention kernel could give As-ViT Small:
the step timed with the attention core, softmax(q k^T) v with its gradient,
replaced by its value input, plus the core's FLOPs at the matmul peak. A
fused kernel can at best reach that bound; the rest of the step (the linear
layers, LayerNorm, GELU, the windowing) is what remains.
"""

import json
import time
from typing import Any, Dict, List
from unittest import mock

from absl import flags
import tensorflow as tf
import tf_keras
from official.modeling.optimization import legacy_adamw
from official.vision.configs import backbones as mg_backbones
from official.vision.configs import image_classification as mg_cls
from official.vision.modeling import factory as mg_factory

from asvit_tf import cli
from asvit_tf import counting
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import builders
from asvit_tf.modeling.layers import attention
from benchmarks import matmul_peak

BATCH = flags.DEFINE_integer('batch_size', 4, 'Images a training step.')
STEPS = flags.DEFINE_integer('steps', 3, 'Timed steps (after one warm-up).')
IMAGE_SIZE = flags.DEFINE_integer('image_size', 224, 'Square input side.')
FORMAT = flags.DEFINE_enum('format', 'table', ['table', 'json'],
                            'Output format.')
NUM_CLASSES = 1000
# The flags above are shared with benchmarks/retokenization.py.


def train_step_seconds(model: tf_keras.Model, batch_size: int,
                       image_size: int, steps: int) -> float:
  """Median seconds of a traced training step (a fresh trace each call)."""
  optimizer = legacy_adamw.AdamWeightDecay(1e-3, weight_decay_rate=0.05)
  images = tf.random.normal([batch_size, image_size, image_size, 3], seed=0)
  labels = tf.random.uniform([batch_size], 0, NUM_CLASSES, tf.int32, seed=0)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      logits = model(images, training=True)
      loss = tf.reduce_mean(
          tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  step().numpy()  # Trace and warm up.
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    step().numpy()
    times.append(time.perf_counter() - start)
  return sorted(times)[len(times) // 2]


def vit_s16(image_size: int) -> tf_keras.Model:
  """Model Garden's ViT-S/16 classifier (`vit-s16`)."""
  config = mg_cls.ImageClassificationModel(
      num_classes=NUM_CLASSES, input_size=[image_size, image_size, 3],
      backbone=mg_backbones.Backbone(
          type='vit', vit=mg_backbones.VisionTransformer(model_name='vit-s16')))
  return mg_factory.build_classification_model(
      tf_keras.layers.InputSpec(shape=[None, image_size, image_size, 3]),
      config)


def throughput(name: str, macs: int, batch_size: int, seconds: float,
               peak: float) -> Dict[str, Any]:
  """A result row: `macs` an image, a step of `batch_size` in `seconds`."""
  images_per_second = batch_size / seconds
  achieved = images_per_second * 6 * macs
  return {'model': name, 'macs': macs, 'gmacs': macs / 1e9,
          'step_seconds': seconds,
          'images_per_second': images_per_second,
          'achieved_tflops': achieved / 1e12,
          'fraction_of_peak': achieved / peak}


def measure(name: str, model: tf_keras.Model, batch_size: int,
            image_size: int, steps: int, peak: float) -> Dict[str, Any]:
  macs = counting.count_macs(model, image_size, image_size)['total']
  seconds = train_step_seconds(model, batch_size, image_size, steps)
  return throughput(name, macs, batch_size, seconds, peak)


def attention_at_peak_bound(name: str, model: tf_keras.Model, macs: int,
                            batch_size: int, image_size: int, steps: int,
                            peak: float) -> Dict[str, Any]:
  """`model`'s row (`macs` an image) if its attention core ran at the matmul
  peak (a bound)."""
  with mock.patch.object(attention, 'attend', lambda q, k, v: v):
    rest_macs = counting.count_macs(model, image_size, image_size)['total']
    rest_seconds = train_step_seconds(model, batch_size, image_size, steps)
  core_seconds_at_peak = batch_size * 6 * (macs - rest_macs) / peak
  row = throughput(name, macs, batch_size,
                   rest_seconds + core_seconds_at_peak, peak)
  row.update(attention_core_gmacs=(macs - rest_macs) / 1e9,
             step_seconds_without_core=rest_seconds)
  return row


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  size, batch, steps = IMAGE_SIZE.value, BATCH.value, STEPS.value
  peak = matmul_peak.matmul_peak_flops()
  asvit = builders.build_classifier(arch_lib.parse_arch('small'), NUM_CLASSES,
                                   size)
  asvit_row = measure('As-ViT Small', asvit, batch, size, steps, peak)
  rows = [
      asvit_row,
      measure('Model Garden ViT-S/16', vit_s16(size), batch, size, steps,
              peak),
      attention_at_peak_bound('As-ViT Small, attention at peak (bound)',
                              asvit, asvit_row['macs'], batch, size, steps,
                              peak),
  ]
  result = {'image_size': size, 'batch_size': batch, 'precision': 'float32',
            'steps': steps, 'matmul_peak_tflops': peak / 1e12, 'models': rows}
  if FORMAT.value == 'json':
    print(json.dumps(result, indent=2))
    return
  print(f'{size}x{size}, batch {batch}, float32, {steps} timed steps; '
        f'matmul peak {peak / 1e12:.3f} TFLOP/s')
  print(f'{"model":<40} {"GMACs":>6} {"s/step":>7} {"img/s":>7} '
        f'{"TFLOP/s":>8} {"of peak":>8}')
  for row in rows:
    print(f'{row["model"]:<40} {row["gmacs"]:>6.2f} '
          f'{row["step_seconds"]:>7.3f} {row["images_per_second"]:>7.2f} '
          f'{row["achieved_tflops"]:>8.4f} {row["fraction_of_peak"]:>8.1%}')


if __name__ == '__main__':
  cli.run(main)
