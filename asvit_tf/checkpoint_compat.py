"""Reads checkpoints into models, or one line naming what does not fit.

A checkpoint of another width, depth or class count fails inside TF with a
message that names a variable and its shapes, or with a list of variables
the checkpoint lacks; these become a UsageError naming the variable and
both shapes. An unreadable checkpoint (a missing or truncated file) is one too.
"""

import gc
import logging
import os
import re
from typing import Dict, Optional

import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from asvit_tf import errors

_SHAPE_MISMATCH = re.compile(
    r'incompatible tensor with shape (\(.*?\)) when attempting to restore '
    r'variable with shape (\(.*?\)) and name (\S+?)(?::\d+)?\.$')
_UNBOUND = re.compile(r"<tf\.Variable '([^']+?)(?::\d+)?' shape=(\(.*?\))")
# Objects whose checkpoint must hold no more variables than they have.
_WHOLE_OBJECTS = ('model', 'backbone')


class CheckpointError(errors.UsageError):
  """A checkpoint that cannot be read or does not fit the configured model."""


def saved_variable_count(checkpoint: str, key: str) -> int:
  """How many variables `checkpoint` holds under its top-level object `key`
  (slot variables are the optimizer's, not counted)."""
  graph = trackable_object_graph_pb2.TrackableObjectGraph()
  graph.ParseFromString(tf.train.load_checkpoint(checkpoint).get_tensor(
      '_CHECKPOINTABLE_OBJECT_GRAPH'))
  pending = [child.node_id for child in graph.nodes[0].children
             if child.local_name == key]
  reached = set()
  while pending:
    node = pending.pop()
    if node not in reached:
      reached.add(node)
      pending.extend(child.node_id for child in graph.nodes[node].children)
  return sum(any(a.name == 'VARIABLE_VALUE' for a in graph.nodes[n].attributes)
             for n in reached)


def _misfit(checkpoint: str, objects: Dict[str, tf.Module]) -> Optional[str]:
  """Restores `objects`; why `checkpoint` does not fit them, None if it does.

  TF's error is released here, with the half-done restore it holds.
  Values the objects lack wait for them on the objects until those are
  deleted, and then TF warns of each: at a refusing binary's exit that was
  a page of warnings below its one line, so they are expected partial.
  """
  try:
    status = tf.train.Checkpoint(**objects).read(checkpoint)
    status.expect_partial()  # Silences the warnings; the checks still run.
    status.assert_existing_objects_matched()
  except ValueError as e:
    match = _SHAPE_MISMATCH.search(str(e))
    if not match:
      raise
    saved, expected, name = match.groups()
    return (f'does not fit the model: {name} has shape {saved} there, '
            f'{expected} in the config')
  except AssertionError as e:
    match = _UNBOUND.search(str(e))
    if not match:
      raise
    return 'does not fit the model: it lacks {} of shape {}'.format(
        *match.groups())
  except tf.errors.OpError as e:  # Missing or truncated files.
    return f'is unreadable ({e.message.splitlines()[0]})'
  for key in objects.keys() & set(_WHOLE_OBJECTS):
    saved = saved_variable_count(checkpoint, key)
    if saved != len(objects[key].variables):
      return (f'does not fit the model: its {key} has {saved} variables, '
              f'the config\'s {len(objects[key].variables)}')
  return None


def misfit(checkpoint: str, **objects: tf.Module) -> Optional[str]:
  """Restores `objects` from `checkpoint`; why it does not fit them, None
  if it does.

  Every variable of the objects must be in the checkpoint with its shape,
  and the checkpoint's `model` or `backbone` no larger than the one given
  (a deeper one would load silently); it may hold more objects (optimizer,
  steps). A refused restore's warnings about unrestored values are not
  printed.
  """
  logger = tf.get_logger()
  level = logger.level
  logger.setLevel(logging.ERROR)
  try:
    reason = _misfit(checkpoint, objects)
    gc.collect()  # Deletes a refused restore now, while its log is quiet.
  finally:
    logger.setLevel(level)
  return reason


def read(checkpoint: str, allowed: str, **objects: tf.Module) -> None:
  """Restores `objects` from `checkpoint`; refuses one that does not fit
  (`misfit`). `allowed` ends the error line: what the user may pass
  instead."""
  reason = misfit(checkpoint, **objects)
  if reason:
    raise CheckpointError(f'checkpoint {checkpoint} {reason}; allowed: '
                          f'{allowed}')


def is_readable(checkpoint: str) -> bool:
  """Whether `checkpoint`'s index can be read and its data shards exist."""
  try:
    tf.train.load_checkpoint(checkpoint)
  except tf.errors.OpError:
    return False
  shards = tf.io.gfile.glob(f'{checkpoint}.data-*-of-*')
  return bool(shards) and len(shards) == int(shards[0].rsplit('-of-', 1)[1])


def latest_readable(model_dir: str) -> Optional[str]:
  """The newest checkpoint of `model_dir`; None if it holds none.

  Raises a CheckpointError when the newest one is unreadable, naming the
  newest intact one (resume from it by pointing the `checkpoint` file at it),
  and when checkpoints lie there but the `checkpoint` file, missing or
  unparsable, names none: a run would start over and overwrite them.
  """
  state = tf.train.get_checkpoint_state(model_dir)
  if not state or not state.model_checkpoint_path:
    orphans = sorted(os.path.basename(path)[:-len('.index')] for path in
                     tf.io.gfile.glob(os.path.join(model_dir, '*.index')))
    if orphans:
      raise CheckpointError(
          f'{model_dir} holds checkpoints ({", ".join(orphans)}) but its '
          '`checkpoint` file, missing or unreadable, names none; allowed: a '
          '`checkpoint` file with model_checkpoint_path: "NAME" for one of '
          'them, or a new --model_dir')
    return None
  latest = state.model_checkpoint_path
  if is_readable(latest):
    return latest
  intact = [path for path in state.all_model_checkpoint_paths
            if path != latest and is_readable(path)]
  fallback = (f'the intact {intact[-1]} (make it model_checkpoint_path in '
              f'{model_dir}/checkpoint)' if intact else 'a new --model_dir')
  raise CheckpointError(f'checkpoint {latest} is unreadable (a file is '
                        f'missing or truncated); allowed: {fallback}')
