"""Exports a trained As-ViT checkpoint as a SavedModel for serving.

  python -m asvit_tf.serving.export_saved_model --experiment=asvit_imagenet \
    --config_file=official_configs/asvit_smoke_digits_cpu.yaml \
    --checkpoint_path=/tmp/asvit_smoke --export_dir=/tmp/asvit_export \
    --input_image_size=64,64 --batch_size=1

Model Garden's export path (official/vision/serving): its
`ClassificationModule` (center crop, resize, mean/std normalization, logits
and probs) around the task's `AsViTClassifier`, always at stride 4. Serve:
`tf.saved_model.load(export_dir).signatures[
'serving_default'](inputs=uint8 images)`. When the checkpoint holds EMA
averages of the weights (the recipe's `optimizer_config.ema`), those are
exported, the weights evaluation measured; `--noema` exports the trained ones.
The model computes in the config's `runtime.mixed_precision_dtype` (`auto`:
bfloat16 on CPUs with bfloat16 instructions); the served inputs and outputs
are float32 (uint8 images in) whatever it is. It holds no XLA-compiled
function (`precision.without_xla_fusion`), so any TF Serving runs it.
"""

from typing import List

from absl import flags
from absl import logging
from official.core import task_factory
from official.core import train_utils
from official.vision.serving import export_saved_model_lib
from official.vision.serving import image_classification

from asvit_tf import cli
from asvit_tf import errors
from asvit_tf import precision
from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf.configs import loading
from asvit_tf.modeling import window_policy
from asvit_tf.serving import checkpoints

_EXPERIMENT = flags.DEFINE_string('experiment', 'asvit_imagenet',
                                  'Registered experiment.')
_CONFIG_FILE = flags.DEFINE_multi_string(
    'config_file', None, 'YAML overrides, applied in order.')
_PARAMS_OVERRIDE = flags.DEFINE_string(
    'params_override', '', 'YAML string overriding the config files.')
_CHECKPOINT_PATH = flags.DEFINE_string(
    'checkpoint_path', None, 'Checkpoint file or training model_dir (the '
    'latest checkpoint is used).')
_EXPORT_DIR = flags.DEFINE_string('export_dir', None, 'Output directory.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', None,
                                   'Serving batch size; default: any.',
                                   lower_bound=1)
_INPUT_TYPE = flags.DEFINE_enum(
    'input_type', 'image_tensor', ['image_tensor', 'image_bytes',
                                   'tf_example'], 'Serving input.')
_INPUT_IMAGE_SIZE = flags.DEFINE_string(
    'input_image_size', '224,224', 'height,width of the model input.')
_EMA = flags.DEFINE_bool(
    'ema', True, 'Export the EMA averages of the weights when the checkpoint '
    'holds them (what evaluation measured); --noema: the trained weights.')


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  for flag in (_CHECKPOINT_PATH, _EXPORT_DIR):
    if not flag.value:
      raise errors.UsageError(f'--{flag.name} is required')
  try:
    image_size = [int(v) for v in _INPUT_IMAGE_SIZE.value.split(',')]
  except ValueError:
    image_size = []
  if len(image_size) != 2 or min(image_size) < 1:
    raise errors.UsageError(
        f'--input_image_size={_INPUT_IMAGE_SIZE.value}; allowed: height,width '
        '(positive integers)')
  cli.check_writable_dir('export_dir', _EXPORT_DIR.value)
  params = loading.parse(train_utils.ParseConfigOptions(
      experiment=_EXPERIMENT.value, config_file=_CONFIG_FILE.value or [],
      params_override=_PARAMS_OVERRIDE.value))
  checkpoint = checkpoints.latest_checkpoint(_CHECKPOINT_PATH.value)
  precision.set_policy(params.runtime)
  task = task_factory.get_task(params.task)
  model = task.build_model()
  try:  # Here rather than inside the traced serving function.
    model.backbone.stage_windows(*image_size)
  except window_policy.WindowError as e:
    raise errors.UsageError(
        f'--input_image_size={_INPUT_IMAGE_SIZE.value}: {e}') from None
  weights = checkpoints.restore_for_serving(params, task, model, checkpoint,
                                            _EMA.value)
  logging.info('Exporting the %s weights of %s.', weights, checkpoint)
  module = image_classification.ClassificationModule(
      params=params, batch_size=_BATCH_SIZE.value,
      input_image_size=image_size, input_type=_INPUT_TYPE.value, model=model)
  with precision.without_xla_fusion():
    export_saved_model_lib.export_inference_graph(
        input_type=_INPUT_TYPE.value, batch_size=_BATCH_SIZE.value,
        input_image_size=image_size, params=params,
        checkpoint_path=None, export_dir=_EXPORT_DIR.value,
        export_module=module)


def run() -> None:
  """Console-script entry point."""
  cli.run(main)


if __name__ == '__main__':
  run()
