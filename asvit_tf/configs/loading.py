"""Experiment configs from Model Garden's flags, or one line naming the fault.

Model Garden's `ExperimentParser` builds the config in steps (experiment,
`--config_file`s in order, `--params_override`); each step here names its
own bad value. The finished config is checked against its dataclass types,
which Model Garden does not do (`train_steps: abc` would fail only inside
the training loop).
"""

import dataclasses
import typing
from typing import Any, Callable, Sequence

import tensorflow as tf
import yaml
from official.core import config_definitions
from official.core import exp_factory
from official.core import input_reader
from official.core import train_utils
from official.modeling import hyperparams

from asvit_tf import errors
from asvit_tf.data import digits
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.tasks import embedded_inputs

_SCALARS = (bool, int, float, str)


class ConfigError(errors.UsageError):
  """An experiment name, config file, override or value that cannot be used."""


def _override(params: hyperparams.Config, source: str,
              what: str) -> hyperparams.Config:
  """`params` overridden by `source` (the value of flag `what`): a YAML
  file, a YAML string or key=value pairs."""
  try:
    return hyperparams.override_params_dict(params, source, is_strict=True)
  except tf.errors.NotFoundError:
    if what == '--config_file':
      raise ConfigError(f'{what}={source}: no such file; allowed: a YAML '
                        'file') from None
    raise ConfigError(
        f'{what}={source}: neither key=value pairs nor YAML nor a file; '
        'allowed: key=value,... without commas inside values, or YAML such '
        "as {task: {model: {backbone: {asvit: {arch: '...'}}}}}") from None
  except yaml.YAMLError as e:
    raise ConfigError(f'{what}={source}: malformed YAML '
                      f'({" ".join(str(e).split())}); allowed: a YAML '
                      'mapping') from None
  except (KeyError, AttributeError, ValueError) as e:
    message = str(e.args[0] if e.args else e).split('. To extend')[0]
    raise ConfigError(f'{what}={source}: {message}; allowed: the keys of '
                      'the experiment config (see params.yaml of a run)'
                      ) from None


class ExperimentParser(train_utils.ExperimentParser):
  """Model Garden's parser; a failed step raises a one-line ConfigError."""

  def base_experiment(self) -> config_definitions.ExperimentConfig:
    name = self._flags_obj.experiment
    try:
      return exp_factory.get_exp_config(name)
    except LookupError:
      allowed = ', '.join(sorted(exp_factory._REGISTERED_CONFIGS))  # pylint: disable=protected-access
      raise ConfigError(f'--experiment={name} is not registered; allowed: '
                        f'{allowed}') from None

  def parse_config_file(self, params: hyperparams.Config
                        ) -> hyperparams.Config:
    for config_file in self._flags_obj.config_file or []:
      params = _override(params, config_file, '--config_file')
    return params

  def parse_params_override(self, params: hyperparams.Config
                            ) -> hyperparams.Config:
    return _override(params, self._flags_obj.params_override,
                     '--params_override')


def _declared_types(hint: Any) -> tuple:
  """The scalar types a field annotated `hint` holds; () if not a scalar."""
  options = (typing.get_args(hint) if typing.get_origin(hint) is typing.Union
             else (hint,))
  if all(t in _SCALARS or t is type(None) for t in options):
    return options
  return ()


def check_types(config: hyperparams.Config, prefix: str = '') -> None:
  """Raises a ConfigError for a field holding a value of another type: a
  scalar of another scalar type, or a scalar where a section or a list is
  declared; or for a one-of section whose `type` names none of its keys.

  Ints pass as floats and become floats: Model Garden's optimizers multiply
  float32 tensors by them (AdamW's weight_decay_rate=1 failed inside TF);
  bools pass only as bools.
  """
  if isinstance(config, hyperparams.OneOfConfig):
    choices = [f.name for f in dataclasses.fields(config) if f.name != 'type']
    if config.type is not None and config.type not in choices:
      raise ConfigError(f'{prefix}type={config.type!r}; allowed: '
                        f'{", ".join(choices)}')
  hints = typing.get_type_hints(type(config))
  for field in dataclasses.fields(config):
    value = getattr(config, field.name)
    name = f'{prefix}{field.name}'
    hint = hints.get(field.name)
    if isinstance(value, hyperparams.Config):
      check_types(value, f'{name}.')
    elif isinstance(value, (list, tuple)):
      for i, item in enumerate(value):
        if isinstance(item, hyperparams.Config):
          check_types(item, f'{name}[{i}].')
    elif isinstance(hint, type) and issubclass(hint, hyperparams.Config):
      raise ConfigError(f'{name}={value!r} is not a section; allowed: a '
                        f'mapping of {name}\'s keys')
    elif typing.get_origin(hint) in (list, tuple):
      raise ConfigError(f'{name}={value!r} is not a list; allowed: a list')
    else:
      declared = _declared_types(hint)
      accepted = declared + ((int,) if float in declared else ())
      if declared and (isinstance(value, bool) and bool not in declared
                       or not isinstance(value, accepted)):
        names = ' or '.join('null' if t is type(None) else t.__name__
                            for t in declared)
        raise ConfigError(f'{name}={value!r} is not of type {names}; '
                          f'allowed: a value of type {names}')
      if float in declared and type(value) is int:  # pylint: disable=unidiomatic-typecheck
        setattr(config, field.name, float(value))


# Values of the type declared that TF or Model Garden would fail on only
# deep inside a run, after the driver wrote params.yaml: (key, lowest value).
_LOWER_BOUNDS = (('task.model.num_classes', 1),
                 ('task.train_data.global_batch_size', 1),
                 ('task.validation_data.global_batch_size', 1),
                 ('trainer.train_steps', 0),
                 ('trainer.steps_per_loop', 1),
                 ('trainer.max_to_keep', 1),
                 ('runtime.num_gpus', 0),
                 # Orbit evaluates without training in between, forever.
                 ('trainer.validation_interval', 0),
                 ('task.train_data.shuffle_buffer_size', 1),
                 # The smallest image the backbone takes (stride 32).
                 ('task.model.backbone.asvit.window_reference_size', 32),
                 # Mask R-CNN's: no anchors, proposals or samples.
                 ('task.model.anchor.num_scales', 1),
                 ('task.model.roi_generator.num_proposals', 1),
                 ('task.model.roi_generator.test_num_proposals', 1),
                 ('task.model.roi_sampler.num_sampled_rois', 1),
                 ('task.model.mask_sampler.num_sampled_masks', 1),
                 ('task.model.detection_generator.max_num_detections', 1))


# Rates Model Garden takes as given: outside [0, 1] they make negative label
# targets, probabilities or an EMA that diverges, and training goes on.
_RATES = ('task.losses.label_smoothing',
          'task.train_data.mixup_and_cutmix.label_smoothing',
          'task.train_data.mixup_and_cutmix.prob',
          'task.train_data.mixup_and_cutmix.switch_prob',
          'trainer.optimizer_config.ema.average_decay',
          # Mask R-CNN's sampling fraction and IoU thresholds.
          'task.model.roi_sampler.foreground_fraction',
          'task.model.roi_sampler.foreground_iou_threshold',
          'task.model.roi_sampler.background_iou_high_threshold',
          'task.model.roi_sampler.background_iou_low_threshold',
          'task.model.roi_generator.nms_iou_threshold',
          'task.model.roi_generator.test_nms_iou_threshold',
          'task.model.detection_generator.nms_iou_threshold')
# Beta distribution parameters: negative ones draw NaN mixing weights.
_NON_NEGATIVE = ('task.train_data.mixup_and_cutmix.mixup_alpha',
                 'task.train_data.mixup_and_cutmix.cutmix_alpha')
# Sizes: Mask R-CNN's anchors of size 0 or less make a NaN loss.
_POSITIVE = ('task.model.anchor.anchor_size',)
# The image dtypes Model Garden's input parsers cast to.
_INPUT_DTYPES = ('float32', 'bfloat16', 'float16')
# Model Garden's distribution strategies (official.common.distribute_utils),
# and those of them that run on one device at most.
_STRATEGIES = ('off', 'one_device', 'mirrored', 'multi_worker_mirrored',
               'parameter_server', 'tpu')
_SINGLE_DEVICE_STRATEGIES = ('off', 'one_device')


def _value(params: hyperparams.Config, key: str) -> Any:
  """The value at dotted `key`, None where the config has no such field."""
  value = params
  for name in key.split('.'):
    value = getattr(value, name, None)
  return value


def _refuse_outside(params: config_definitions.ExperimentConfig,
                    keys: Sequence[str], allows: Callable[[Any], bool],
                    allowed: str) -> None:
  """A ConfigError `key=value; allowed: ...` for the first of `keys` whose
  value (where the config has it) `allows` refuses."""
  for key in keys:
    value = _value(params, key)
    if value is not None and not allows(value):
      shown = repr(value) if isinstance(value, str) else value
      raise ConfigError(f'{key}={shown}; allowed: {allowed}')


def _check_ranges(params: config_definitions.ExperimentConfig) -> None:
  """Counts below their bounds, rates outside [0, 1], negative mixing
  parameters, anchors of no size, input dtypes the parsers lack."""
  for key, lowest in _LOWER_BOUNDS:
    _refuse_outside(params, [key], lambda v, lowest=lowest: v >= lowest,
                    f'an integer >= {lowest}')
  _refuse_outside(params, _RATES, lambda v: 0 <= v <= 1, 'a rate in [0, 1]')
  _refuse_outside(params, _NON_NEGATIVE, lambda v: v >= 0, 'a number >= 0')
  _refuse_outside(params, _POSITIVE, lambda v: v > 0, 'a number > 0')
  _refuse_outside(params,
                  ('task.train_data.dtype', 'task.validation_data.dtype'),
                  _INPUT_DTYPES.__contains__, ', '.join(_INPUT_DTYPES))


def _check_runtime(params: config_definitions.ExperimentConfig) -> None:
  """A distribution strategy Model Garden lacks, or one device for GPUs."""
  _refuse_outside(params, ['runtime.distribution_strategy'],
                  lambda v: str(v).lower() in _STRATEGIES,
                  ', '.join(_STRATEGIES))
  strategy = _value(params, 'runtime.distribution_strategy')
  gpus = _value(params, 'runtime.num_gpus')
  if str(strategy).lower() in _SINGLE_DEVICE_STRATEGIES and gpus and gpus > 1:
    raise ConfigError(f'runtime.distribution_strategy={strategy!r} with '
                      f'runtime.num_gpus={gpus}; allowed: mirrored or '
                      'multi_worker_mirrored for more than one GPU')


def _check_trainer(params: config_definitions.ExperimentConfig) -> None:
  """A learning rate decaying over no steps, validation steps neither
  positive nor -1, summaries off the training loops' ends."""
  learning_rate = _value(params, 'trainer.optimizer_config.learning_rate')
  if learning_rate is not None and learning_rate.type is not None:
    steps = getattr(learning_rate.get(), 'decay_steps', None)
    if isinstance(steps, int) and steps < 1:  # Divides by it: NaN.
      raise ConfigError(f'trainer.optimizer_config.learning_rate.'
                        f'{learning_rate.type}.decay_steps={steps}; allowed: '
                        'an integer >= 1')
  _refuse_outside(params, ['trainer.validation_steps'],
                  lambda v: v >= 1 or v == -1,
                  'an integer >= 1, or -1 for the whole validation set')
  loop = _value(params, 'trainer.steps_per_loop')
  summaries = _value(params, 'trainer.summary_interval')
  if loop and summaries is not None and (summaries < 1 or summaries % loop):
    # Orbit's Controller refuses it when training starts.
    raise ConfigError(f'trainer.summary_interval={summaries} with '
                      f'trainer.steps_per_loop={loop}; allowed: a positive '
                      'multiple of trainer.steps_per_loop')


def _check_model(params: config_definitions.ExperimentConfig) -> None:
  """A model input size that is not (height, width, channels) (sides may be
  null, Model Garden's unknown), or an As-ViT backbone whose architecture or
  stochastic depth rate cannot be built (Sec. 3.1)."""
  size = _value(params, 'task.model.input_size')
  if size is not None and (len(size) != 3 or any(
      side is not None and side < 1 for side in size)):
    raise ConfigError(f'task.model.input_size={list(size)}; allowed: '
                      '[height, width, channels], each >= 1 (or null)')
  backbone = _value(params, 'task.model.backbone')
  if backbone is None or backbone.type != 'asvit':
    return
  try:
    arch_lib.parse_arch(backbone.asvit.arch)
  except arch_lib.ArchError as e:
    raise ConfigError(f'task.model.backbone.asvit.arch={backbone.asvit.arch!r}'
                      f': {e}') from None
  _refuse_outside(params, ['task.model.backbone.asvit.drop_path_rate'],
                  lambda v: 0 <= v < 1, 'a rate in [0, 1)')


def check_values(params: config_definitions.ExperimentConfig) -> None:
  """Raises a ConfigError for a value of the declared type that TF, Model
  Garden or Orbit would fail on deep inside a run, or train on silently."""
  _check_ranges(params)
  _check_runtime(params)
  _check_trainer(params)
  _check_model(params)


def parse(flags_obj: Any) -> config_definitions.ExperimentConfig:
  """The unlocked experiment config the flags describe, checked.

  `flags_obj` carries Model Garden's `experiment`, `config_file`,
  `params_override` and `tpu` (absl FLAGS or `train_utils.ParseConfigOptions`).
  """
  params = ExperimentParser(flags_obj).parse()
  check_types(params)
  try:
    params.validate()
  except KeyError as e:
    raise ConfigError(f'config restriction {e.args[0]}; allowed: a config '
                      'that meets it') from None
  check_values(params)
  return params


def check_input_paths(params: config_definitions.ExperimentConfig,
                      mode: str) -> None:
  """Raises a ConfigError for an `input_path` the `mode` reads that matches
  no file or whose first file is not a TFRecord file (the embedded `digits:`
  splits and TFDS datasets aside), embedded digits for fewer than their ten
  classes, or, to evaluate, a missing
  `task.annotation_file` (detection's COCO ground truth)."""
  annotations = getattr(params.task, 'annotation_file', None)
  if 'eval' in mode and annotations and not tf.io.gfile.exists(annotations):
    raise ConfigError(f'task.annotation_file={annotations!r} does not exist; '
                      'allowed: a COCO annotation JSON, or empty to take the '
                      'ground truth from the validation TFRecords')
  classes = _value(params, 'task.model.num_classes')
  for name, read in (('train_data', 'train' in mode),
                     ('validation_data', 'eval' in mode)):
    data = getattr(params.task, name, None)
    if not read or data is None:
      continue
    if embedded_inputs.is_embedded(data.input_path):
      if classes is not None and classes < digits.NUM_CLASSES:
        # Labels past the logits train on silently (all-zero targets).
        raise ConfigError(
            f'task.model.num_classes={classes} with task.{name}.input_path='
            f'{data.input_path!r}, whose labels are 0-{digits.NUM_CLASSES - 1}'
            f'; allowed: task.model.num_classes >= {digits.NUM_CLASSES}')
      continue
    if data.tfds_name:
      continue
    try:  # Raises rather than match no file.
      files = input_reader.match_files(data.input_path)
    except ValueError as e:
      raise ConfigError(f'task.{name}.input_path={data.input_path!r}: '
                        f'{str(e).rstrip(".")}; '
                        'allowed: paths or globs of existing files, '
                        'comma-separated') from None
    if getattr(data, 'file_type', None) == 'tfrecord':
      _check_tfrecord(f'task.{name}.input_path', files[0])


def _check_tfrecord(key: str, path: str) -> None:
  """Reads the first record of `path`; a ConfigError if it is not one."""
  try:
    for _ in tf.data.TFRecordDataset(path).take(1):
      pass
  except tf.errors.DataLossError as e:
    raise ConfigError(f'{key}: {path} is not a TFRecord file '
                      f'({e.message.splitlines()[0]}); allowed: TFRecord '
                      'files (file_type tfrecord)') from None
