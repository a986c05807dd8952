"""Entry-point helpers shared by the binaries: one-line errors, and the
main job's stages ending with it.

The error boundary: what a user can cause (a UsageError, or a file system
error on a path: under a file, missing, not writable, disk full) ends the
binary with one line `error: <what> <value>: <why>; allowed: <what is>` and
exit status 2; anything else, a bug, stays a traceback.
"""

import ctypes
import errno
import gc
import json
import logging
import os
import re
import signal
import sys
from typing import Any, Callable, Dict, List, Optional

from absl import app
from absl import flags
from absl import logging as absl_logging

from asvit_tf import errors


GIN_CONTEXT = '\n  In call to configurable'
# The process id of the main job (asvit_tf.pipeline), in each stage's
# environment.
JOB_PID_ENV = 'ASVIT_TF_JOB_PID'
_PR_SET_PDEATHSIG = 1  # prctl(2), <linux/prctl.h>


def one_line(error: Exception) -> str:
  """The message of `error` without the call context gin appends to errors
  raised inside its configurables (Model Garden's `base_trainer.Trainer`)."""
  return str(error).split(GIN_CONTEXT)[0]


# What the user may do about each file system error.
_ALLOWED_BY_ERRNO = {
    errno.ENOSPC: 'free disk space and run again (runs resume)',
    errno.EDQUOT: 'free disk space and run again (runs resume)',
    errno.ENOTDIR: 'a path not under a file',
    errno.ENOENT: 'an existing file or folder',
    errno.EISDIR: 'a file, not a folder',
    errno.EACCES: 'a path this user may write',
    errno.EPERM: 'a path this user may write',
    errno.EROFS: 'a path on a writable file system',
    errno.EEXIST: 'a folder where a folder is wanted, not a file',
}
# TF's file system errors carry the message only; these name the errno.
_TF_MESSAGES = [('is not a directory', errno.ENOTDIR)] + [
    (os.strerror(code), code) for code in _ALLOWED_BY_ERRNO]


def file_system_error(error: Exception) -> Optional[str]:
  """The one-line message of a file system error, None for other errors.

  `error` is an OSError with one of the errno above, or a TF OpError (TF
  reads and writes files itself) whose message names one.
  """
  if isinstance(error, OSError):
    if error.errno not in _ALLOWED_BY_ERRNO:
      return None
    what = f'path {error.filename}' if error.filename else 'file system'
    return (f'{what}: {error.strerror}; allowed: '
            f'{_ALLOWED_BY_ERRNO[error.errno]}')
  tf_errors = getattr(sys.modules.get('tensorflow'), 'errors', None)
  if tf_errors is None or not isinstance(error, tf_errors.OpError):
    return None
  message = ' '.join(error.message.split('}}')[-1].split(' [Op:')[0].split())
  for text, code in _TF_MESSAGES:
    if text.lower() in message.lower():
      return f'file system: {message}; allowed: {_ALLOWED_BY_ERRNO[code]}'
  return None


def check_writable_dir(flag: str, path: str) -> None:
  """Raises a UsageError unless `path` is, or can be made, a writable folder.

  Checked before anything is written; remote paths (gs://...) are TF's.
  """
  if not path:
    raise errors.UsageError(f'--{flag} is empty; allowed: a folder, created '
                            'if missing')
  if '://' in path:
    return
  existing = os.path.abspath(path)
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise errors.UsageError(f'--{flag}={path}: {existing} is a file; allowed: '
                            'a folder, created if missing, not under a file')
  if not os.access(existing, os.W_OK | os.X_OK):
    raise errors.UsageError(f'--{flag}={path}: {existing} is not writable; '
                            'allowed: a folder this user may write')


def fail(message: str) -> None:
  """Ends the binary: one line `error: message` on stderr, exit status 2.

  Nothing below ERROR is logged after it, so it stays the last line: TF's
  asynchronous checkpoint save logged its thread's end below it when a run
  stopped after a checkpoint.
  """
  absl_logging.set_verbosity(absl_logging.ERROR)
  logging.getLogger('tensorflow').setLevel(logging.ERROR)
  print(f'error: {message}', file=sys.stderr)
  sys.exit(2)


def parse_flags(argv: List[str]) -> List[str]:
  """absl's flag parsing; a bad flag value (a validator or bound included)
  ends the binary through `fail`, naming what the flag allows."""
  try:
    return flags.FLAGS(argv)
  except flags.IllegalFlagValueError as e:
    message = ' '.join(str(e).split())
    missing = re.findall(r'Flag --([\w.-]+) must have a value other than None',
                         message)
    if missing:
      fail(f'{", ".join("--" + m for m in missing)} not given; allowed: a '
           'value for each of them (see --helpfull)')
    if 'allowed: ' in message:  # A validator's message says it already.
      fail(message)
    name = re.match(r'flag --([\w.-]+)=', message)
    allowed = (flags.FLAGS[name.group(1)].parser.syntactic_help
               if name and name.group(1) in flags.FLAGS else '')
    fail(f'{message}; allowed: {allowed or "see --helpfull"}')
  except flags.Error as e:
    fail(f'{" ".join(str(e).split())}; allowed: the flags of --helpfull')


def guard(main: Callable[[List[str]], None]) -> Callable[[List[str]], None]:
  """`main` with the error boundary: positional arguments, a UsageError or a
  file system error end it through `fail`; any other error propagates."""

  def guarded(argv: List[str]) -> None:
    try:
      if len(argv) > 1:
        raise errors.UsageError(f'unexpected arguments {argv[1:]}; allowed: '
                                'flags only (see --helpfull)')
      main(argv)
    except errors.UsageError as e:
      fail(one_line(e))
    except Exception as e:  # pylint: disable=broad-except
      message = file_system_error(e)
      if message is None:
        raise
      fail(message)

  return guarded


def end_with_job() -> None:
  """A stage of the main job ends when the job's process does, however that
  ends (`kill`, SIGKILL, out of memory): on Linux the kernel sends the stage
  SIGTERM (`prctl(PR_SET_PDEATHSIG)`). Otherwise a job killed by anything
  but Ctrl-C (which reaches the whole process group) left its stage running,
  still writing the folder that the job resumed next would write too. The
  stages write their state atomically, so the job resumes from it.

  No-op outside Linux or when not run as a stage; the stage's own child
  processes do not inherit the job's id.
  """
  job_pid = os.environ.pop(JOB_PID_ENV, None)
  if job_pid is None or not sys.platform.startswith('linux'):
    return
  libc = ctypes.CDLL(None, use_errno=True)
  if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
    return  # Refused (a sandbox): the stage runs on as it did without.
  if os.getppid() != int(job_pid):  # The job ended before the call above.
    signal.raise_signal(signal.SIGTERM)


def run(main: Callable[[List[str]], None]) -> None:
  """Runs an absl `main` behind the error boundary (`parse_flags`, `guard`),
  ended with the main job when it is one of its stages (`end_with_job`).

  Once `main` has returned (every checkpoint, summary and file of the run
  written and closed), the process exits without the interpreter's final
  garbage collection: collecting TF's traced graphs object by object took
  12.6 s of a training run's exit on a 2-core CPU, against 0.3 s skipped.
  """
  end_with_job()
  guarded = guard(main)

  def main_then_exit(argv: List[str]) -> None:
    guarded(argv)
    gc.freeze()  # The final collection passes over frozen objects.

  app.run(main_then_exit, flags_parser=parse_flags)


def print_rows(rows: List[Dict[str, Any]], output_format: str,
               format_table: Callable[[List[Dict[str, Any]]], str]) -> None:
  """Prints result rows as JSON (one object, or a list) or as a table."""
  if output_format == 'json':
    print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
  else:
    print(format_table(rows))
