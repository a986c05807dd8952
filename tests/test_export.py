"""Serving export: a checkpoint of the smoke model as a SavedModel."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from official.core import task_factory
from official.vision.ops import preprocess_ops
from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-direct-tensorflow-import

from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf.data import digits
from tests import helpers
from asvit_tf.serving import checkpoints
from asvit_tf.tasks import float16_ema


def smoke_task():
  params = helpers.smoke_params()
  return params, task_factory.get_task(params.task)


def export(checkpoint_path, export_dir, *flags):
  return helpers.run_module(
      'asvit_tf.serving.export_saved_model',
      f'--config_file={helpers.SMOKE_CONFIG}',
      f'--checkpoint_path={checkpoint_path}', f'--export_dir={export_dir}',
      '--input_image_size=64,64', '--batch_size=1', *flags)


def serve_and_expect(export_dir, model):
  """Logits of one digit served from `export_dir` and from `model`."""
  image = digits.load_digits_images(64)[0][:1]
  served = tf.saved_model.load(export_dir).signatures['serving_default'](
      inputs=tf.constant(image))
  np.testing.assert_allclose(np.sum(served['probs']), 1.0, atol=1e-5)
  expected = model(preprocess_ops.normalize_image(
      tf.cast(image[0], tf.float32), offset=preprocess_ops.MEAN_RGB,
      scale=preprocess_ops.STDDEV_RGB)[None], training=False)
  return served['logits'].numpy(), expected.numpy()


@pytest.mark.slow
def test_bfloat16_trained_checkpoint_serves_float32_near_the_float32_model(
    tmp_path):
  _, task = smoke_task()
  with helpers.keras_policy('mixed_bfloat16'):
    model = task.build_model()
    optimizer = tf_keras.optimizers.SGD(0.1)
    images = tf.random.stateless_normal([4, 64, 64, 3], [0, 0])
    for _ in range(2):
      with tf.GradientTape() as tape:
        logits = model(images, training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.range(4), logits))
      optimizer.apply_gradients(zip(
          tape.gradient(loss, model.trainable_variables),
          model.trainable_variables))
  ckpt_dir = str(tmp_path / 'ckpt')
  tf.train.Checkpoint(model=model).save(os.path.join(ckpt_dir, 'ckpt'))
  export_dir = str(tmp_path / 'export')
  result = export(ckpt_dir, export_dir,
                  '--params_override=runtime.mixed_precision_dtype=bfloat16')
  assert result.returncode == 0, result.stderr[-3000:]

  full = task.build_model()  # float32, the trained weights.
  tf.train.Checkpoint(model=full).read(
      tf.train.latest_checkpoint(ckpt_dir)).assert_existing_objects_matched()
  signature = tf.saved_model.load(export_dir).signatures['serving_default']
  assert {t.dtype for t in signature.structured_outputs.values()} == {
      tf.float32}
  # Servable without XLA, though training fused steps with it on this CPU.
  saved_model = saved_model_pb2.SavedModel.FromString(
      tf.io.gfile.GFile(os.path.join(export_dir, 'saved_model.pb'),
                        'rb').read())
  assert helpers.xla_compiled_calls(
      saved_model.meta_graphs[0].graph_def) == 0
  served, expected = serve_and_expect(export_dir, full)
  assert not np.array_equal(served, expected)  # Computed in bfloat16.
  np.testing.assert_allclose(served, expected, rtol=0,
                             atol=4 * 2.0 ** -7 * np.abs(expected).max())


def save_with_averages(params, task, model, prefix: str):
  """Saves `model` and the task's EMA optimizer, as Model Garden's trainer
  does, with averages that differ from the trained weights; returns the
  checkpoint's path, the optimizer and the averages."""
  optimizer = task.create_optimizer(params.trainer.optimizer_config,
                                    params.runtime)
  optimizer.shadow_copy(model)
  averages = []
  for i, variable in enumerate(model.variables):
    average = optimizer.get_slot(variable, 'average')
    average.assign(variable + tf.random.stateless_normal(
        variable.shape, [i, 0], stddev=0.05))
    averages.append(average.numpy())
  path = tf.train.Checkpoint(model=model, optimizer=optimizer).save(prefix)
  return path, optimizer, averages


@pytest.mark.slow
def test_export_serves_the_checkpoint_and_the_ema_weights_evaluation_used(
    tmp_path):
  params, task = smoke_task()
  model = task.build_model()
  model.backbone.stride = 8  # The export must serve at stride 4 anyway.
  ckpt_dir = str(tmp_path / 'ckpt')
  _, _, averages = save_with_averages(params, task, model,
                                      os.path.join(ckpt_dir, 'ckpt'))
  model.backbone.stride = 4

  trained = export(ckpt_dir, str(tmp_path / 'trained'), '--noema')
  assert trained.returncode == 0, trained.stderr[-3000:]
  served, expected = serve_and_expect(str(tmp_path / 'trained'), model)
  assert served.shape == (1, digits.NUM_CLASSES)
  np.testing.assert_allclose(served, expected, atol=1e-4)

  ema = export(ckpt_dir, str(tmp_path / 'ema'))
  assert ema.returncode == 0, ema.stderr[-3000:]
  assert 'Exporting the ema weights' in ema.stderr
  model.set_weights(averages)
  served_ema, expected_ema = serve_and_expect(str(tmp_path / 'ema'), model)
  np.testing.assert_allclose(served_ema, expected_ema, atol=1e-4)
  assert np.abs(served_ema - served).max() > 1e-3


def test_float16_training_checkpoint_gives_its_ema_weights(tmp_path):
  # Under float16 the task puts the EMA outside Model Garden's loss scaling,
  # so the averages sit where a float32 run keeps them.
  params, task = smoke_task()
  params = params.replace(runtime={'mixed_precision_dtype': 'float16'})
  model = task.build_model()
  path, optimizer, averages = save_with_averages(params, task, model,
                                                 str(tmp_path / 'ckpt'))
  assert float16_ema.loss_scaler(optimizer) is not None

  served = task.build_model()
  assert checkpoints.restore_for_serving(params, task, served, path) == 'ema'
  for got, want in zip(served.variables, averages):
    np.testing.assert_array_equal(got.numpy(), want)


def test_export_without_a_checkpoint_fails_clearly(tmp_path):
  result = export(str(tmp_path), str(tmp_path / 'export'))
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1] == (
      f'error: --checkpoint_path={tmp_path} holds no checkpoint; allowed: a '
      'checkpoint prefix or a training model_dir')


def test_export_of_another_models_checkpoint_names_variable_and_shapes(
    tmp_path):
  _, task = smoke_task()
  ckpt_dir = str(tmp_path / 'ckpt')
  tf.train.Checkpoint(model=task.build_model()).save(
      os.path.join(ckpt_dir, 'ckpt'))
  result = export(ckpt_dir, str(tmp_path / 'export'),
                  '--params_override=task.model.num_classes=7')
  helpers.assert_one_line_error(
      result, f'error: checkpoint {ckpt_dir}/ckpt-1 does not fit the model: ')
  assert result.stderr.rstrip().endswith(
      'logits/bias has shape (10,) there, (7,) in the config; allowed: the '
      'config the checkpoint was trained with')
  assert sorted(os.listdir(tmp_path)) == ['ckpt']
