"""Cascade Mask R-CNN with the As-ViT backbone through Model Garden (Sec. 5.3)."""

import itertools
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from official.core import exp_factory
from official.core import task_factory
from official.modeling import hyperparams
from official.vision.tasks import maskrcnn

from asvit_tf import counting
from asvit_tf import run_dir
from asvit_tf import trainer as trainer_lib
from asvit_tf.configs import loading
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import backbone as backbone_lib
from asvit_tf.modeling import builders
from detection import configs as detection_configs
from detection import synthetic_coco
from detection import detector_cost
from detection import task as detection_task
from detection import registry_imports  # pylint: disable=unused-import
from tests import helpers
from tests.helpers import TINY_ARCH

SMOKE_YAML = helpers.config('cascadercnn_asvit_smoke_cpu.yaml')
LARGE_YAML = helpers.config('cascadercnn_asvit_large_coco_1024.yaml')


def _config(yaml_path, overrides=None):
  params = exp_factory.get_exp_config('cascadercnn_asvit_coco')
  params = hyperparams.override_params_dict(params, yaml_path, is_strict=True)
  if overrides:
    params = hyperparams.override_params_dict(params, overrides,
                                              is_strict=True)
  params.validate()
  return params


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
  """Smoke config on a 4 + 4 image synthetic set, its task and model."""
  root = str(tmp_path_factory.mktemp('synthetic_coco'))
  paths = synthetic_coco.make_dataset(root, 4, 4, 256, seed=0)
  params = _config(SMOKE_YAML, {'task': {
      'annotation_file': paths['val']['annotations'],
      'train_data': {'input_path': paths['train']['tfrecords']},
      'validation_data': {'input_path': paths['val']['tfrecords']}}})
  task = task_factory.get_task(params.task, logging_dir=root)
  return params, task, task.build_model()


def test_experiment_holds_the_paper_recipe():
  params = exp_factory.get_exp_config('cascadercnn_asvit_coco')
  large = _config(LARGE_YAML)
  for p in (params, large):
    model = p.task.model
    assert model.input_size == [1024, 1024, 3]
    assert model.backbone.asvit.arch == 'large'
    assert model.backbone.asvit.window_policy == 'window'
    assert model.backbone.asvit.window_reference_size == 224
    assert model.backbone.asvit.drop_path_rate > 0
    assert model.roi_sampler.foreground_iou_threshold == 0.5
    assert model.roi_sampler.cascade_iou_thresholds == [0.6, 0.7]
    assert model.detection_head.class_agnostic_bbox_pred
    assert model.detection_head.cascade_class_ensemble
    assert model.include_mask
    assert p.task.init_checkpoint_modules == 'backbone'
    assert p.task.train_data.global_batch_size == 256
    optimizer = p.trainer.optimizer_config
    assert optimizer.optimizer.type == 'adamw'
    assert optimizer.optimizer.adamw.weight_decay_rate == 1e-4
    assert optimizer.learning_rate.cosine.initial_learning_rate == 1e-3
    # 36 epochs of COCO train2017 (118,287 images) at batch 256.
    assert p.trainer.train_steps == 36 * math.ceil(118287 / 256)
  assert large.task.init_checkpoint
  # The YAML spells out the registered recipe: same model, data and schedule.
  for part in ('model', 'losses', 'train_data', 'validation_data'):
    assert large.task.get(part).as_dict() == params.task.get(part).as_dict()
  assert large.trainer.as_dict() == params.trainer.as_dict()


def test_model_builds_through_the_factory(smoke):
  params, _, model = smoke
  assert isinstance(model.backbone, backbone_lib.AsViTBackbone)
  assert arch_lib.format_arch(model.backbone.arch) == arch_lib.format_arch(
      arch_lib.parse_arch(TINY_ARCH))
  # 256 px: stage 1 is 64x64 tokens in windows of 28 (3x3 windows, padded).
  assert model.backbone.stage_windows(256, 256)[0] == ((3, 28), (3, 28))
  assert [h.name for h in model.detection_head] == [
      'detection_head', 'detection_head_1', 'detection_head_2']
  assert model.mask_head is not None
  assert sorted(model.decoder.output_specs) == ['2', '3', '4', '5', '6']
  assert model.decoder.output_specs['2'].as_list() == [
      None, 64, 64, params.task.model.decoder.fpn.num_filters]


def test_input_size_the_parser_would_pad_is_refused_before_writing(tmp_path):
  # The parser pads to multiples of 2**6; built for 288, the FPN would refuse
  # the 320-pixel batches inside the first training step.
  override = '--params_override=task.model.input_size=[288,256,3]'
  message = ('error: task.model.input_size=[288, 256, 3]: the parser pads '
             'images to multiples of 2**max_level = 64; allowed: height and '
             'width positive multiples of 64')
  helpers.assert_one_line_error(helpers.run_module(
      'detection.train', '--experiment=cascadercnn_asvit_coco',
      f'--config_file={SMOKE_YAML}', '--mode=train',
      f'--model_dir={tmp_path}/run', override), message)
  assert not (tmp_path / 'run').exists()
  helpers.assert_one_line_error(helpers.run_module(
      'detection.cost', f'--config_file={SMOKE_YAML}', override), message)


@pytest.mark.slow
def test_checkpoint_of_another_model_is_refused_in_eval_before_writing(
    smoke, tmp_path):
  """An evaluation reads no params.yaml, and Model Garden's restore of
  another model's checkpoint failed inside TF with a traceback. Here: the
  classification run's folder given as the detection run's."""
  params, _, model = smoke
  # The trainer's checkpoint layout, model at the top level; one of this
  # model fits it.
  tf.train.Checkpoint(model=model).save(str(tmp_path / 'same' / 'ckpt'))
  run_dir.check(params, model, str(tmp_path / 'same'), training=False)
  classifier = builders.build_classifier(
      arch_lib.parse_arch(TINY_ARCH), num_classes=10, image_size=64)
  other = tf.train.Checkpoint(
      model=classifier, **classifier.checkpoint_items).save(
          str(tmp_path / 'other' / 'ckpt'))
  before = helpers.snapshot(str(tmp_path / 'other'))
  data = params.task
  result = helpers.run_module(
      'detection.train', '--experiment=cascadercnn_asvit_coco',
      f'--config_file={SMOKE_YAML}', '--mode=eval',
      f'--model_dir={tmp_path}/other',
      f'--params_override=task.annotation_file={data.annotation_file},'
      f'task.validation_data.input_path={data.validation_data.input_path}')
  helpers.assert_one_line_error(
      result, f'error: checkpoint {other} does not fit the model: ')
  # The classifier's backbone fits the detection model's.
  assert result.stderr.rstrip().endswith(
      f'with task.init_checkpoint={other} and '
      'task.init_checkpoint_modules=backbone to start from its backbone')
  assert helpers.snapshot(str(tmp_path / 'other')) == before


@pytest.mark.parametrize('model, message', [
    ({'anchor': {'num_scales': 0}},
     'task.model.anchor.num_scales=0; allowed: an integer >= 1'),
    ({'roi_generator': {'num_proposals': 0}},
     'task.model.roi_generator.num_proposals=0; allowed: an integer >= 1'),
    ({'roi_sampler': {'foreground_fraction': 1.5}},
     'task.model.roi_sampler.foreground_fraction=1.5; allowed: a rate in '
     '[0, 1]'),
    ({'anchor': {'anchor_size': -1.0}},
     'task.model.anchor.anchor_size=-1.0; allowed: a number > 0'),
])
def test_head_values_model_garden_fails_on_are_refused(model, message):
  """Model Garden failed on them inside Keras or TF with a traceback, made a
  NaN loss, or trained on silently (no proposals)."""
  loading.check_values(_config(SMOKE_YAML))
  with pytest.raises(loading.ConfigError) as raised:
    loading.check_values(_config(SMOKE_YAML, {'task': {'model': model}}))
  assert str(raised.value) == message


@pytest.mark.parametrize('levels', [(1, 6), (2, 1)])
def test_fpn_levels_outside_the_backbones_are_refused(levels):
  params = _config(SMOKE_YAML, {'task': {'model': {
      'min_level': levels[0], 'max_level': levels[1]}}})
  with pytest.raises(loading.ConfigError) as raised:
    detection_configs.check_levels_and_input_size(params)
  assert str(raised.value) == (
      f'task.model.min_level={levels[0]} and max_level={levels[1]}; allowed: '
      "2 <= min_level <= 5 (the backbone's finest to coarsest map), "
      'max_level >= min_level')


@pytest.mark.parametrize('flag, message', [
    ('--params_override=runtime.mixed_precision_dtype=bf16',
     'runtime.mixed_precision_dtype=bf16; allowed: auto, float32, bfloat16, '
     'float16'),
    # A mode of Model Garden's flag that its train_lib does not run.
    ('--mode=train_and_validate',
     'mode=train_and_validate; allowed: train, eval, train_and_eval, '
     'continuous_eval, train_and_post_eval'),
])
def test_unknown_precision_or_mode_is_refused_before_writing(
    tmp_path, flag, message):
  # Without the synthetic set: both are checked before the data paths.
  helpers.assert_one_line_error(helpers.run_module(
      'detection.train', '--experiment=cascadercnn_asvit_coco',
      f'--config_file={SMOKE_YAML}', '--mode=train',
      f'--model_dir={tmp_path}/run', flag), f'error: {message}')
  assert not (tmp_path / 'run').exists()


def test_cost_per_component_matches_independent_counts(smoke):
  params, task, model = smoke
  params_m = detector_cost.model_params(model)
  assert sum(params_m[c] for c in detector_cost.COMPONENTS) == (
      params_m['total'])
  assert params_m['backbone'] == counting.count_params(model.backbone)['total']
  macs = detector_cost.model_macs(model, params.task.model)
  assert macs['backbone'] == counting.count_macs(model.backbone, 256,
                                                 256)['total']
  # FPN: 1x1 laterals and 3x3 outputs on P2..P5, a stride-2 3x3 conv to P6.
  filters = params.task.model.decoder.fpn.num_filters
  backbone_arch = model.backbone.arch
  fpn = sum((256 // 2**level) ** 2 * filters *
            (backbone_arch.stage_width(level - 1) + 9 * filters)
            for level in range(2, 6)) + 4 * 4 * 9 * filters * filters
  assert macs['fpn'] == fpn
  assert macs['cascade_heads'] > 0 and macs['mask_head'] > 0
  assert macs['total'] == sum(v for k, v in macs.items() if k != 'total')
  # A second model in the same process has `_1`-suffixed layer names.
  assert detector_cost.model_macs(task.build_model(), params.task.model) == macs


@pytest.mark.slow
def test_driver_trains_two_steps_in_one_trace_then_coco_evaluation(
    smoke, tmp_path):
  params, task, _ = smoke
  # detection.train's trainer (asvit_tf.trainer): the optimizer's variables
  # exist before the first step, so the training loop is traced once (Model
  # Garden's own driver: twice).
  trainer = trainer_lib.create_trainer(params, task, 'train', str(tmp_path),
                                       task.build_model())
  model = trainer.model
  before = [w.numpy() for w in model.backbone.trainable_weights]
  logs = trainer.train(tf.constant(2))
  loop = trainer._train_loop_fn  # pylint: disable=protected-access
  assert loop.experimental_get_tracing_count() == 1
  losses = {k: float(v) for k, v in logs.items() if k.endswith('loss')}
  assert set(losses) >= {'training_loss', 'rpn_score_loss', 'rpn_box_loss',
                         'frcnn_cls_loss', 'frcnn_box_loss', 'mask_loss'}
  assert all(np.isfinite(v) and v > 0 for v in losses.values()), losses
  after = model.backbone.trainable_weights
  assert any(not np.allclose(b, a.numpy()) for b, a in zip(before, after))

  task.build_metrics(training=False)
  state = None
  for inputs in task.build_inputs(params.task.validation_data):
    state = task.aggregate_logs(state, task.validation_step(inputs, model))
  results = task.reduce_aggregated_logs(state)
  for key in ('AP', 'AP50', 'mask_AP', 'mask_AP50'):
    assert 0.0 <= results[key] <= 1.0, (key, results[key])


@pytest.mark.slow
@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_one_training_step_under_mixed_precision(smoke, dtype):
  params, _, _ = smoke
  # A quarter of the smoke config's pixels: what runs in float16 on a CPU is
  # slow, and the step's ops and dtypes do not depend on the input size.
  params = params.replace(task={'model': {'input_size': [128, 128, 3]}})
  task = task_factory.get_task(params.task)
  runtime = params.runtime.replace(mixed_precision_dtype=dtype)
  with helpers.keras_policy(f'mixed_{dtype}'):
    model = task.build_model()
    optimizer = task.create_optimizer(params.trainer.optimizer_config,
                                      runtime)
  assert isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer) == (
      dtype == 'float16')  # Model Garden's dynamic loss scaling.
  train_inputs = iter(task.build_inputs(params.task.train_data))
  first = next(train_inputs)
  features = model.backbone(first[0])
  assert {f.dtype.name for f in features.values()} == {dtype}
  assert {v.dtype for v in model.trainable_weights} == {tf.float32}
  before = [w.numpy() for w in model.backbone.trainable_weights]
  trainer_lib.make_optimizer_variables(optimizer, model.trainable_variables)
  metrics = task.build_metrics(training=True)
  step = tf.function(lambda inputs: task.train_step(inputs, model, optimizer,
                                                    metrics))
  after = model.backbone.trainable_weights
  # The warm-up's learning rate is 0 at step 1. Under float16, a step whose
  # gradients overflow the dynamic loss scale is skipped and halves the scale,
  # so a few more steps may pass before the weights move.
  for number, inputs in enumerate(itertools.chain([first], train_inputs), 1):
    assert np.isfinite(step(inputs)['loss'].numpy())
    if number >= 2 and any(not np.allclose(b, a.numpy())
                           for b, a in zip(before, after)):
      break
    assert number < 6, 'the weights did not move in 5 steps'
  assert all(np.isfinite(m.result().numpy()) for m in metrics)


def save_training_batches(train_path: str, out_path: str) -> None:
  """Two seeded batches of the smoke config's training input through the
  project's task and through Model Garden's own `build_inputs`, which
  tf.data traces with AutoGraph."""
  params = _config(SMOKE_YAML, {'task': {'train_data': {
      'input_path': train_path, 'seed': 1}}})
  task = task_factory.get_task(params.task)
  assert isinstance(task, detection_task.AsViTMaskRCNNTask)
  data = params.task.train_data
  helpers.save_seeded_batches({
      'task': lambda: task.build_inputs(data),
      'model_garden': lambda: maskrcnn.MaskRCNNTask.build_inputs(task, data)},
      2, out_path)


def test_training_input_is_model_gardens_to_the_bit(smoke, tmp_path):
  # The task builds Model Garden's input without AutoGraph (detection.task).
  params, _, _ = smoke
  result = helpers.run_forked(save_training_batches,
                              params.task.train_data.input_path,
                              str(tmp_path / 'batches.npz'))
  assert result.returncode == 0, result.stderr[-3000:]
  batches = helpers.assert_task_batches_are_model_gardens(
      str(tmp_path / 'batches.npz'))
  assert len(batches) > 20  # Images, boxes, masks, anchor targets, ...


def test_backbone_loads_from_a_classification_checkpoint(smoke, tmp_path):
  params, _, _ = smoke
  classifier = builders.build_classifier(
      arch_lib.parse_arch(TINY_ARCH), num_classes=10, image_size=64)
  # The layout of Model Garden's trainer: model, optimizer, global step and
  # the model's checkpoint_items ({'backbone': ...}) at the top level.
  checkpoint = tf.train.Checkpoint(
      global_step=tf.Variable(0, dtype=tf.int64), model=classifier,
      optimizer=tf_keras.optimizers.Adam(), **classifier.checkpoint_items)
  path = checkpoint.save(str(tmp_path / 'classifier' / 'ckpt'))

  params = params.replace(task={'init_checkpoint': path})
  task = task_factory.get_task(params.task, logging_dir=str(tmp_path))
  model = task.build_model()
  heads = [model.decoder, model.rpn_head, model.mask_head,
           *model.detection_head]
  heads_before = [w.numpy() for h in heads for w in h.weights]
  backbone_before = [w.numpy() for w in model.backbone.weights]
  task.initialize(model)

  loaded = model.backbone.weights
  expected = classifier.backbone.weights
  assert [w.shape for w in loaded] == [w.shape for w in expected]
  for got, want in zip(loaded, expected):
    np.testing.assert_array_equal(got.numpy(), want.numpy())
  assert any(not np.array_equal(b, w.numpy())
             for b, w in zip(backbone_before, loaded))
  heads_after = [w.numpy() for h in heads for w in h.weights]
  for before, after in zip(heads_before, heads_after):
    np.testing.assert_array_equal(before, after)

