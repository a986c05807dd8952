"""Benchmarks that print their figures: `python -m benchmarks.<name>` from the
repository root (see benchmarks/README.md)."""

import asvit_tf  # pylint: disable=unused-import  # TF's environment, before TF.
