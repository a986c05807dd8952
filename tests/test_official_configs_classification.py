"""The classification YAMLs in official_configs/ load, validate and hold the
paper's numbers (docs/design.md sections 5 and 6)."""

import glob
import os

import pytest
from official.core import train_utils

from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf import retokenization
from asvit_tf.modeling import classifier
from tests import helpers

ROOT = os.path.dirname(helpers.SMOKE_CONFIG)  # the shipped configs
TPU = {size: os.path.join(ROOT, f'asvit_{size}_imagenet_tpu.yaml')
       for size in ('small', 'base', 'large')}
SMOKE = os.path.join(ROOT, 'asvit_smoke_digits_cpu.yaml')
GPU = os.path.join(ROOT, 'asvit_small_imagenet_gpu_multiworker.yaml')
IMAGENET_STEPS_PER_EPOCH = 1281167 // 1024


def load(*files):
  return train_utils.parse_configuration(
      train_utils.ParseConfigOptions(experiment='asvit_imagenet',
                                     config_file=list(files)),
      print_return=False)


def test_every_classification_yaml_is_covered():
  covered = set(TPU.values()) | {SMOKE, GPU} | {
      os.path.join(ROOT, f'asvit_retokenization_{k.rstrip("%")}.yaml')
      for k in retokenization.TABLE6_SCHEDULES}
  found = set(glob.glob(os.path.join(ROOT, 'asvit_*.yaml')))
  assert {os.path.normpath(p) for p in found} == {
      os.path.normpath(p) for p in covered}


@pytest.mark.parametrize('size', sorted(TPU))
def test_tpu_configs_hold_the_paper_recipe(size):
  p = load(TPU[size])
  spe = IMAGENET_STEPS_PER_EPOCH
  opt = p.trainer.optimizer_config
  assert p.runtime.distribution_strategy == 'tpu'
  assert p.task.model.backbone.asvit.arch == size
  assert p.task.model.backbone.asvit.drop_path_rate > 0
  assert p.task.model.input_size == [224, 224, 3]
  assert p.task.train_data.global_batch_size == 1024
  assert p.trainer.train_steps == 300 * spe
  assert opt.optimizer.type == 'adamw'
  assert opt.optimizer.adamw.weight_decay_rate == 0.05
  assert opt.learning_rate.cosine.initial_learning_rate == 1e-3
  assert opt.warmup.linear.warmup_steps == 20 * spe
  assert opt.learning_rate.cosine.offset == 20 * spe
  assert opt.learning_rate.cosine.decay_steps == 280 * spe
  assert opt.ema.average_decay > 0
  assert p.task.train_data.aug_type.type == 'randaug'
  assert p.task.train_data.mixup_and_cutmix.cutmix_alpha > 0
  assert p.task.train_data.mixup_and_cutmix.mixup_alpha > 0
  assert p.task.losses.label_smoothing == 0.1
  assert p.task.retokenization.steps_per_epoch == spe
  assert not p.task.retokenization.phases  # The Table 6 baseline.


@pytest.mark.parametrize('key', sorted(retokenization.TABLE6_SCHEDULES))
def test_table6_overlays_switch_at_the_papers_epochs(key):
  overlay = f'asvit_retokenization_{key.rstrip("%")}.yaml'
  p = load(TPU['large'], os.path.join(ROOT, overlay))
  schedule = retokenization.Schedule.from_config(p.task.retokenization)
  spe = IMAGENET_STEPS_PER_EPOCH
  expected = [(s, e * spe) for s, e in retokenization.TABLE6_SCHEDULES[key]]
  assert [(ph.stride, ph.end_step) for ph in schedule.phases] == expected + [
      (4, None)]


def test_gpu_config_is_multi_worker_mirrored():
  p = load(TPU['small'], GPU)
  assert p.runtime.distribution_strategy == 'multi_worker_mirrored'
  assert p.runtime.num_gpus == 8
  assert p.task.train_data.global_batch_size == 1024


def test_smoke_config_builds_the_classifier_on_embedded_digits():
  from official.core import task_factory  # pylint: disable=g-import-not-at-top
  p = load(SMOKE)
  assert p.runtime.distribution_strategy == 'one_device'
  assert p.task.train_data.input_path == 'digits:train'
  model = task_factory.get_task(p.task).build_model()
  assert isinstance(model, classifier.AsViTClassifier)
  assert model.backbone.stride == 4
  assert model.output_shape == (None, 10)
