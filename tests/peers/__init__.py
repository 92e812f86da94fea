"""Reference parity against torchattacks (requirements-peers.txt)."""

import os

import pytest

INSTALL = ("pip install -r requirements-peers.txt && "
           "pip install --no-deps torchattacks==3.5.1 pyautoattack==0.2.0")


def require_peers():
  """Imports torch and torchattacks, or skips the calling module when they are absent.

  Under CI (env CI set) the peers are installed by scripts/test, so their absence is
  an error, never a silent skip.
  """
  try:
    import torch  # noqa: F401
    import torchattacks  # noqa: F401
  except ImportError as e:
    if os.environ.get("CI"):
      raise ImportError(f"CI must install the reference peers ({INSTALL}): {e}") from e
    pytest.skip(f"reference peers not installed ({e}); {INSTALL}", allow_module_level=True)
