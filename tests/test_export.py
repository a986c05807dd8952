"""Serving export: a checkpoint of the smoke model as a SavedModel."""

import os
import subprocess
import sys

import numpy as np
import tensorflow as tf
from official.core import task_factory
from official.core import train_utils
from official.vision.ops import preprocess_ops

from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf.data import digits

ROOT = os.path.join(os.path.dirname(__file__), '..')
SMOKE = os.path.join(ROOT, 'official_configs', 'asvit_smoke_digits_cpu.yaml')


def test_exported_model_serves_one_digit_like_the_checkpoint(tmp_path):
  params = train_utils.parse_configuration(train_utils.ParseConfigOptions(
      experiment='asvit_imagenet', config_file=[SMOKE]), print_return=False)
  model = task_factory.get_task(params.task).build_model()
  model.backbone.stride = 16  # The export must serve at stride 4 anyway.
  ckpt_dir = str(tmp_path / 'ckpt')
  tf.train.Checkpoint(model=model).save(os.path.join(ckpt_dir, 'ckpt'))
  export_dir = str(tmp_path / 'export')
  result = subprocess.run(
      [sys.executable, '-m', 'asvit_tf.serving.export_saved_model',
       f'--config_file={SMOKE}', f'--checkpoint_path={ckpt_dir}',
       f'--export_dir={export_dir}', '--input_image_size=64,64',
       '--batch_size=1'],
      capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
  assert result.returncode == 0, result.stderr[-3000:]

  image = digits.load_digits_images(64)[0][:1]
  served = tf.saved_model.load(export_dir).signatures['serving_default'](
      inputs=tf.constant(image))
  model.backbone.stride = 4
  expected = model(preprocess_ops.normalize_image(
      tf.cast(image[0], tf.float32), offset=preprocess_ops.MEAN_RGB,
      scale=preprocess_ops.STDDEV_RGB)[None], training=False)
  np.testing.assert_allclose(served['logits'], expected, atol=1e-4)
  np.testing.assert_allclose(np.sum(served['probs']), 1.0, atol=1e-5)
  assert served['logits'].shape == (1, digits.NUM_CLASSES)
