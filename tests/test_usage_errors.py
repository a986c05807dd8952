"""The error contract in-process: configs, checkpoints, state files, paths."""

import errno
import gc
import json
import os
import subprocess
import sys
import textwrap

from absl import flags
from absl.testing import flagsaver
import pytest
import tensorflow as tf
import tf_keras
from official.core import exp_factory
from official.core import train_utils

from asvit_tf import checkpoint_compat
from asvit_tf import cli
from asvit_tf import errors
from asvit_tf import job as job_lib
from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf import run_dir
from asvit_tf import trainer as trainer_lib
from asvit_tf.configs import loading
from detection import registry_imports as detection_registry  # pylint: disable=unused-import
from tests import helpers


def parse(tmp_path, config_text=None, override='', experiment='asvit_imagenet'):
  files = [helpers.SMOKE_CONFIG]
  if config_text is not None:
    (tmp_path / 'extra.yaml').write_text(config_text)
    files.append(str(tmp_path / 'extra.yaml'))
  return loading.parse(train_utils.ParseConfigOptions(
      experiment=experiment, config_file=files, params_override=override))


@pytest.mark.parametrize('config_text, override, experiment, message', [
    (None, '', 'asvit_imagenett',
     '--experiment=asvit_imagenett is not registered; allowed: '),
    ('task: {model: [\n', '', 'asvit_imagenet',
     '--config_file={dir}/extra.yaml: malformed YAML (while parsing'),
    ('task:\n  modle: {}\n', '', 'asvit_imagenet',
     "--config_file={dir}/extra.yaml: The key 'modle' does not exist in "),
    (None, 'trainer.train_steps=abc', 'asvit_imagenet',
     "trainer.train_steps='abc' is not of type int; allowed: a value of type "
     'int'),
    (None, '{task: {model: {num_classes: true}}}', 'asvit_imagenet',
     'task.model.num_classes=True is not of type int'),
    (None, '{trainer: {optimizer_config: {ema: {average_decay: x}}}}',
     'asvit_imagenet',
     "trainer.optimizer_config.ema.average_decay='x' is not of type float"),
    (None, 'task.model.backbone.asvit.arch=4,2,2,1|2,1,2,1', 'asvit_imagenet',
     '--params_override=task.model.backbone.asvit.arch=4,2,2,1|2,1,2,1: '
     'neither key=value pairs nor YAML nor a file; allowed: '),
    # Values TF or Model Garden fail on only deep inside a run.
    (None, 'task.model=5', 'asvit_imagenet',
     "task.model=5 is not a section; allowed: a mapping of task.model's keys"),
    (None, '{task: {retokenization: {phases: 3}}}', 'asvit_imagenet',
     'task.retokenization.phases=3 is not a list; allowed: a list'),
    (None, 'task.model.num_classes=0', 'asvit_imagenet',
     'task.model.num_classes=0; allowed: an integer >= 1'),
    (None, 'task.validation_data.global_batch_size=0', 'asvit_imagenet',
     'task.validation_data.global_batch_size=0; allowed: an integer >= 1'),
    (None, 'trainer.train_steps=-5', 'asvit_imagenet',
     'trainer.train_steps=-5; allowed: an integer >= 0'),
    (None, 'trainer.steps_per_loop=0', 'asvit_imagenet',
     'trainer.steps_per_loop=0; allowed: an integer >= 1'),
    (None, 'task.model.backbone.type=asvitt', 'asvit_imagenet',
     "task.model.backbone.type='asvitt'; allowed: resnet, dilated_resnet, "),
    (None, 'trainer.optimizer_config.optimizer.type=adamw2', 'asvit_imagenet',
     "trainer.optimizer_config.optimizer.type='adamw2'; allowed: sgd, "),
    (None, 'runtime.distribution_strategy=mirored', 'asvit_imagenet',
     "runtime.distribution_strategy='mirored'; allowed: off, one_device, "
     'mirrored, multi_worker_mirrored, parameter_server, tpu'),
    (None, 'runtime.num_gpus=2', 'asvit_imagenet',
     "runtime.distribution_strategy='one_device' with runtime.num_gpus=2; "
     'allowed: mirrored or multi_worker_mirrored for more than one GPU'),
    (None, 'runtime.num_gpus=-1', 'asvit_imagenet',
     'runtime.num_gpus=-1; allowed: an integer >= 0'),
    (None, 'trainer.optimizer_config.ema.average_decay=1.5', 'asvit_imagenet',
     'trainer.optimizer_config.ema.average_decay=1.5; allowed: a rate in '
     '[0, 1]'),
    (None, 'task.losses.label_smoothing=-0.1', 'asvit_imagenet',
     'task.losses.label_smoothing=-0.1; allowed: a rate in [0, 1]'),
    (None, 'task.train_data.mixup_and_cutmix.mixup_alpha=-1', 'asvit_imagenet',
     'task.train_data.mixup_and_cutmix.mixup_alpha=-1.0; allowed: a number '
     '>= 0'),
    (None, 'trainer.optimizer_config.learning_rate.cosine.decay_steps=0',
     'asvit_imagenet', 'trainer.optimizer_config.learning_rate.cosine.'
     'decay_steps=0; allowed: an integer >= 1'),
    (None, 'task.train_data.dtype=float64', 'asvit_imagenet',
     "task.train_data.dtype='float64'; allowed: float32, bfloat16, float16"),
    (None, 'task.train_data.shuffle_buffer_size=0', 'asvit_imagenet',
     'task.train_data.shuffle_buffer_size=0; allowed: an integer >= 1'),
    (None, 'task.model.backbone.asvit.window_reference_size=0',
     'asvit_imagenet', 'task.model.backbone.asvit.window_reference_size=0; '
     'allowed: an integer >= 32'),
    (None, 'trainer.max_to_keep=0', 'asvit_imagenet',
     'trainer.max_to_keep=0; allowed: an integer >= 1'),
    (None, 'trainer.validation_interval=-1', 'asvit_imagenet',
     'trainer.validation_interval=-1; allowed: an integer >= 0'),
    (None, 'trainer.validation_steps=0', 'asvit_imagenet',
     'trainer.validation_steps=0; allowed: an integer >= 1, or -1 for the '
     'whole validation set'),
    (None, 'trainer.steps_per_loop=2,trainer.summary_interval=5',
     'asvit_imagenet', 'trainer.summary_interval=5 with '
     'trainer.steps_per_loop=2; allowed: a positive multiple of '
     'trainer.steps_per_loop'),
    (None, 'task.model.input_size=[64,64]', 'asvit_imagenet',
     'task.model.input_size=[64, 64]; allowed: [height, width, channels], '
     'each >= 1 (or null)'),
    (None, "{task: {model: {backbone: {asvit: {arch: '4,2,2,1|2,1,2,1|2,1,2,1|"
     "2,1,2,1|99'}}}}}", 'asvit_imagenet',
     "task.model.backbone.asvit.arch='4,2,2,1|2,1,2,1|2,1,2,1|2,1,2,1|99': "
     'heads=99 is not in the search space; allowed: 16, 32, 64'),
    (None, 'task.model.backbone.asvit.drop_path_rate=1.0', 'asvit_imagenet',
     'task.model.backbone.asvit.drop_path_rate=1.0; allowed: a rate in '
     '[0, 1)'),
])
def test_bad_configs_are_one_line_errors(tmp_path, config_text, override,
                                         experiment, message):
  with pytest.raises(errors.UsageError) as raised:
    parse(tmp_path, config_text, override, experiment)
  assert str(raised.value).startswith(message.format(dir=tmp_path))
  assert '\n' not in str(raised.value)


_FAIL_THEN_LOG = """
from absl import logging
from asvit_tf import cli, errors

def main(argv):
  raise errors.UsageError('x; allowed: y')

try:
  cli.run(main)
finally:  # What TF's asynchronous checkpoint save logs as a process exits.
  logging.info('Joining the async save thread.')
  logging.warning('a warning')
"""


def test_the_error_line_stays_last_when_threads_log_at_exit():
  """A run that stopped after an asynchronous checkpoint save: TF logged the
  save thread's end below the line."""
  result = helpers.run_code(_FAIL_THEN_LOG)
  helpers.assert_one_line_error(result, 'error: x; allowed: y')


def test_config_types_accept_ints_as_floats(
    tmp_path):
  params = parse(tmp_path, override=(
      '{trainer: {optimizer_config: {ema: {average_decay: 1}}}, '
      'task: {retokenization: {phases: [{stride: 8, until_epoch: 2}]}}}'))
  decay = params.trainer.optimizer_config.ema.average_decay
  assert decay == 1 and isinstance(decay, float)  # AdamW multiplies by it.
  assert params.task.retokenization.phases[0].until_epoch == 2


def test_model_dir_of_another_model_is_refused_by_its_params_yaml(tmp_path):
  params = parse(tmp_path)
  train_utils.serialize_config(params, str(tmp_path))
  run_dir.check_params(params, str(tmp_path))  # The same model resumes.
  params.override({'trainer': {'train_steps': 7}})  # So do other steps.
  run_dir.check_params(params, str(tmp_path))
  params.override({'task': {'model': {'num_classes': 7,
                                      'input_size': [32, 32, 3]}}})
  with pytest.raises(errors.UsageError) as raised:
    run_dir.check_params(params, str(tmp_path))
  assert str(raised.value) == (
      f'--model_dir={tmp_path} holds a run of another model: '
      'task.model.input_size=[64, 64, 3] (now [32, 32, 3]), '
      'task.model.num_classes=10 (now 7); allowed: the same task.model to '
      'resume the run, or a new --model_dir')


def dense_model(*widths):
  return tf_keras.Sequential([tf_keras.Input((3,))] +
                             [tf_keras.layers.Dense(w) for w in widths])


def test_checkpoint_of_another_width_names_the_variable_and_shapes(tmp_path):
  path = tf.train.Checkpoint(model=dense_model(4)).write(str(tmp_path / 'c'))
  checkpoint_compat.read(path, 'x', model=dense_model(4))
  with pytest.raises(checkpoint_compat.CheckpointError) as raised:
    checkpoint_compat.read(path, 'the same widths', model=dense_model(5))
  message = str(raised.value)
  assert message.startswith(f'checkpoint {path} does not fit the model: ')
  assert ' has shape (4,) there, (5,) in the config; allowed: the same ' in (
      message)
  assert message.split(' has shape')[0].endswith('/bias')


def test_checkpoint_of_another_depth_is_refused_both_ways(tmp_path):
  shallow = tf.train.Checkpoint(model=dense_model(3)).write(
      str(tmp_path / 'shallow'))
  deep = tf.train.Checkpoint(model=dense_model(3, 3)).write(
      str(tmp_path / 'deep'))
  with pytest.raises(checkpoint_compat.CheckpointError,
                     match=r'it lacks \S+ of shape \(3, ?3\)|lacks \S+ of '
                     r'shape \(3,\)'):
    checkpoint_compat.read(shallow, 'x', model=dense_model(3, 3))
  with pytest.raises(checkpoint_compat.CheckpointError,
                     match="its model has 4 variables, the config's 2"):
    checkpoint_compat.read(deep, 'x', model=dense_model(3))


def test_a_refused_model_dir_whose_backbone_fits_names_init_checkpoint(
    tmp_path):
  """A classification run's folder given to a detection run, or to one with
  other classes: the refusal names the flags that start from its backbone,
  unless that backbone does not fit either."""

  def model_with(backbone_width, head_width):
    model = dense_model(backbone_width, head_width)
    model.backbone = model.layers[0]
    return model

  saved = model_with(4, 3)
  # Model Garden's trainer layout: the model and its checkpoint_items.
  path = tf.train.Checkpoint(model=saved, backbone=saved.backbone).save(
      str(tmp_path / 'run' / 'ckpt'))
  params, model_dir = parse(tmp_path), str(tmp_path / 'run')
  with pytest.raises(checkpoint_compat.CheckpointError) as raised:
    run_dir.check(params, model_with(4, 5), model_dir, training=False)
  assert str(raised.value).endswith(
      'allowed: the same task.model to resume the run, or a new --model_dir '
      f'with task.init_checkpoint={path} and '
      'task.init_checkpoint_modules=backbone to start from its backbone')
  with pytest.raises(checkpoint_compat.CheckpointError) as raised:
    run_dir.check(params, model_with(5, 3), model_dir, training=False)
  assert str(raised.value).endswith('or a new --model_dir')


def test_a_refused_checkpoint_leaves_no_warnings_for_the_models_exit(
    tmp_path):
  """The one line stays a refusing binary's last: the checkpoint's values
  that the model lacks waited on it, and TF warned of each as the model was
  deleted at exit."""
  saved, model = tf.Module(), tf.Module()
  saved.head = tf.Variable([1.0], name='head')
  model.body = tf.Variable([1.0], name='body')
  path = tf.train.Checkpoint(model=saved).write(str(tmp_path / 'c'))
  with pytest.raises(checkpoint_compat.CheckpointError,
                     match=r'it lacks body of shape \(1,\)'):
    checkpoint_compat.read(path, 'x', model=model)
  with helpers.tf_warnings() as warnings:
    del model
    gc.collect()
  assert not [w.getMessage() for w in warnings]


def test_unreadable_latest_checkpoint_names_the_intact_one(tmp_path):
  checkpoint = tf.train.Checkpoint(model=dense_model(2))
  manager = tf.train.CheckpointManager(checkpoint, str(tmp_path), 3)
  first, second = manager.save(), manager.save()
  assert checkpoint_compat.latest_readable(str(tmp_path)) == second
  os.remove(f'{second}.index')
  with pytest.raises(checkpoint_compat.CheckpointError) as raised:
    checkpoint_compat.latest_readable(str(tmp_path))
  assert str(raised.value) == (
      f'checkpoint {second} is unreadable (a file is missing or truncated); '
      f'allowed: the intact {first} (make it model_checkpoint_path in '
      f'{tmp_path}/checkpoint)')
  for name in os.listdir(tmp_path):
    if name.startswith(os.path.basename(first) + '.data'):
      os.remove(tmp_path / name)
  with pytest.raises(checkpoint_compat.CheckpointError,
                     match='allowed: a new --model_dir$'):
    checkpoint_compat.latest_readable(str(tmp_path))


def test_checkpoints_no_checkpoint_file_names_are_refused(tmp_path):
  checkpoint = tf.train.Checkpoint(model=dense_model(2))
  manager = tf.train.CheckpointManager(checkpoint, str(tmp_path), 3)
  manager.save()
  manager.save()
  # Unparsable or missing, a run would start over and write ckpt-1 again.
  for text in ('garbage!!: [', None):
    if text is None:
      os.remove(tmp_path / 'checkpoint')
    else:
      (tmp_path / 'checkpoint').write_text(text)
    with pytest.raises(checkpoint_compat.CheckpointError) as raised:
      checkpoint_compat.latest_readable(str(tmp_path))
    assert str(raised.value) == (
        f'{tmp_path} holds checkpoints (ckpt-1, ckpt-2) but its `checkpoint` '
        'file, missing or unreadable, names none; allowed: a `checkpoint` '
        'file with model_checkpoint_path: "NAME" for one of them, or a new '
        '--model_dir')
  assert checkpoint_compat.latest_readable(str(tmp_path / 'new')) is None


def test_input_path_of_another_format_is_refused_before_training(tmp_path):
  path = tmp_path / 'train-00000-of-00001'
  path.write_bytes(bytes(range(256)) * 8)
  params = parse(tmp_path, override={'task': {'train_data': {
      'input_path': str(path)}}})
  with pytest.raises(errors.UsageError) as raised:
    loading.check_input_paths(params, 'train')
  assert str(raised.value).startswith(
      f'task.train_data.input_path: {path} is not a TFRecord file (')
  assert str(raised.value).endswith(
      '; allowed: TFRecord files (file_type tfrecord)')
  with tf.io.TFRecordWriter(str(path)) as writer:
    writer.write(b'a record')
  loading.check_input_paths(params, 'train')


def test_embedded_digits_need_their_ten_classes(tmp_path):
  """Labels past the logits trained on silently."""
  params = parse(tmp_path, override='task.model.num_classes=10')
  loading.check_input_paths(params, 'train_and_eval')
  params = parse(tmp_path, override='task.model.num_classes=5')
  with pytest.raises(errors.UsageError) as raised:
    loading.check_input_paths(params, 'eval')
  assert str(raised.value) == (
      "task.model.num_classes=5 with task.validation_data.input_path="
      "'digits:validation', whose labels are 0-9; allowed: "
      'task.model.num_classes >= 10')


def test_evaluation_needs_its_annotation_file(tmp_path):
  for name in ('train.tfrecord', 'val.tfrecord'):
    (tmp_path / name).touch()
  params = exp_factory.get_exp_config('cascadercnn_asvit_coco')
  params.override({'task': {
      'annotation_file': str(tmp_path / 'instances_val.json'),
      'train_data': {'input_path': str(tmp_path / 'train.tfrecord')},
      'validation_data': {'input_path': str(tmp_path / 'val.tfrecord')}}})
  loading.check_input_paths(params, 'train')  # Read by evaluation only.
  with pytest.raises(errors.UsageError) as raised:
    loading.check_input_paths(params, 'train_and_eval')
  assert str(raised.value) == (
      f"task.annotation_file='{tmp_path}/instances_val.json' does not exist; "
      'allowed: a COCO annotation JSON, or empty to take the ground truth '
      'from the validation TFRecords')


@pytest.mark.parametrize('text, why', [
    ('', 'is not JSON (Expecting value'),
    ('{"config": {"seed"', 'is not JSON (Expecting'),
    ('{}', 'holds no run settings ("config")'),
    ('[1]', 'holds no run settings ("config")'),
])
def test_damaged_state_file_names_itself(tmp_path, text, why):
  path = tmp_path / 'search_state.json'
  path.write_text(text)
  with pytest.raises(job_lib.StateError) as raised:
    job_lib.load_state(str(path), {'seed': 0})
  assert str(raised.value).startswith(f'state file {path} {why}')
  assert str(raised.value).endswith(
      '; allowed: the file a run wrote (delete it to start the run over, or '
      'use a new --model_dir)')


@pytest.mark.parametrize('damage, why', [
    (lambda state: state.pop('search'), 'TypeError: "search" is not an object'),
    (lambda state: state.update(search=None),
     'TypeError: "search" is not an object'),
    (lambda state: state['search'].update(logits='x'),
     "ValueError: could not convert string to float: 'x'"),
    (lambda state: state['search'].pop('adam'), "KeyError: 'adam'"),
])
def test_damaged_algorithm_state_is_refused_and_left_alone(tmp_path, damage,
                                                           why):
  helpers.run_search(tmp_path, steps=2)
  path = tmp_path / 'search_state.json'
  state = json.loads(path.read_text())
  damage(state)
  path.write_text(json.dumps(state))
  with pytest.raises(job_lib.StateError) as raised:
    helpers.run_search(tmp_path, steps=2)
  assert str(raised.value) == (
      f'state file {path} holds a damaged "search" state ({why}); allowed: '
      'the file a run wrote (delete it to start the run over, or use a new '
      '--model_dir)')
  assert json.loads(path.read_text()) == state


def test_failed_state_write_keeps_the_old_state_and_no_temporary(
    tmp_path, monkeypatch):
  path = str(tmp_path / 'state.json')
  job_lib.write_json(path, {'config': {'seed': 1}})

  def disk_full(descriptor):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  monkeypatch.setattr(os, 'fsync', disk_full)
  with pytest.raises(OSError):
    job_lib.write_json(path, {'config': {'seed': 2}})
  assert os.listdir(tmp_path) == ['state.json']
  with open(path) as f:
    assert json.load(f) == {'config': {'seed': 1}}


def test_file_system_errors_become_one_line_and_bugs_do_not(tmp_path):
  a_file = tmp_path / 'a_file'
  a_file.write_text('')
  with pytest.raises(OSError) as under_a_file:
    os.makedirs(a_file / 'sub')
  assert cli.file_system_error(under_a_file.value) == (
      f'path {a_file}/sub: Not a directory; allowed: a path not under a file')
  assert cli.file_system_error(OSError(errno.ENOSPC, 'No space left on '
                                       'device')) == (
      'file system: No space left on device; allowed: free disk space and '
      'run again (runs resume)')
  with pytest.raises(tf.errors.OpError) as in_tf:
    tf.io.gfile.makedirs(str(a_file / 'sub'))
  assert cli.file_system_error(in_tf.value) == (
      f'file system: {a_file} is not a directory; allowed: a path not under '
      'a file')
  assert cli.file_system_error(ValueError('a bug')) is None
  assert cli.file_system_error(OSError(errno.EINVAL, 'a bug')) is None


def test_writable_dir_refuses_a_path_under_a_file(tmp_path):
  (tmp_path / 'a_file').write_text('')
  cli.check_writable_dir('model_dir', str(tmp_path / 'new' / 'sub'))
  with pytest.raises(errors.UsageError) as raised:
    cli.check_writable_dir('model_dir', str(tmp_path / 'a_file' / 'sub'))
  assert str(raised.value) == (
      f'--model_dir={tmp_path}/a_file/sub: {tmp_path}/a_file is a file; '
      'allowed: a folder, created if missing, not under a file')
  assert sorted(os.listdir(tmp_path)) == ['a_file']
  # An empty flag value would mean the current directory.
  with pytest.raises(errors.UsageError) as raised:
    cli.check_writable_dir('output_dir', '')
  assert str(raised.value) == ('--output_dir is empty; allowed: a folder, '
                               'created if missing')


def test_boundary_turns_user_errors_into_one_line_and_keeps_bugs(capsys):
  def raising(error):
    def main(argv):
      del argv
      raise error
    return main

  for error, line in (
      (errors.UsageError('--x=1; allowed: 2'), 'error: --x=1; allowed: 2'),
      (OSError(errno.EACCES, 'Permission denied', '/p'),
       'error: path /p: Permission denied; allowed: a path this user may '
       'write')):
    with pytest.raises(SystemExit) as exited:
      cli.guard(raising(error))(['prog'])
    assert exited.value.code == 2
    assert capsys.readouterr().err == f'{line}\n'
  with pytest.raises(KeyError):
    cli.guard(raising(KeyError('a bug')))(['prog'])


def test_binaries_exit_without_collecting_their_objects():
  # A binary's traced graphs are garbage once main returns; collecting them
  # at exit costs seconds and saves nothing (the run's files are closed).
  program = textwrap.dedent("""
      from asvit_tf import cli

      class Cycle:
        def __init__(self):
          self.me = self

        def __del__(self):
          print('collected', flush=True)

      def main(argv):
        del argv
        Cycle()
        print('done', flush=True)

      cli.run(main)
      """)
  result = subprocess.run([sys.executable, '-c', program], cwd=helpers.ROOT,
                          capture_output=True, text=True, check=False)
  assert (result.returncode, result.stdout) == (0, 'done\n')


def test_flag_bounds_are_one_line_errors(capsys):
  flags.DEFINE_integer('test_count', 1, 'A count.', lower_bound=1)
  with flagsaver.flagsaver():
    with pytest.raises(SystemExit) as exited:
      cli.parse_flags(['prog', '--test_count=0'])
  assert exited.value.code == 2
  assert capsys.readouterr().err == (
      'error: flag --test_count=0: 0 is not a positive integer; allowed: a '
      'positive integer\n')


def test_missing_required_flags_are_named_in_one_line(capsys):
  required = ('test_required_a', 'test_required_b')
  for name in required:
    flags.DEFINE_string(name, None, 'A required flag.')
  flags.mark_flags_as_required(required)
  try:
    with flagsaver.flagsaver(), pytest.raises(SystemExit) as exited:
      cli.parse_flags(['prog', '--test_required_b=x'])
  finally:
    for name in required:
      flags.FLAGS[name].validators.clear()
  assert exited.value.code == 2
  assert capsys.readouterr().err == (
      'error: --test_required_a not given; allowed: a value for each of them '
      '(see --helpfull)\n')


def test_input_path_matching_no_file_is_refused_for_the_modes_reading_it(
    tmp_path):
  params = parse(tmp_path, override={'task': {'train_data': {
      'input_path': f'{tmp_path}/none-*.tfrecord'}}})
  loading.check_input_paths(params, 'eval')  # Reads validation_data only.
  with pytest.raises(errors.UsageError) as raised:
    loading.check_input_paths(params, 'train_and_eval')
  assert str(raised.value) == (
      f"task.train_data.input_path='{tmp_path}/none-*.tfrecord': "
      f'{tmp_path}/none-*.tfrecord does not match any files; allowed: paths '
      'or globs of existing files, comma-separated')


def test_drivers_run_model_gardens_modes_and_refuse_others_in_one_line():
  # asvit_tf.train and detection.train: every mode of Model Garden's driver.
  for mode in ('train', 'eval', 'train_and_eval', 'continuous_eval',
               'train_and_post_eval'):
    trainer_lib.check_mode(mode)
  with pytest.raises(errors.UsageError) as raised:
    trainer_lib.check_mode('trian')
  assert str(raised.value) == (
      'mode=trian; allowed: train, eval, train_and_eval, continuous_eval, '
      'train_and_post_eval')
