"""Where the tests find FSDD: <project root>/../shared/data/fsdd, or $JAXROBUST_FSDD_DIR."""

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FSDD_DIR = os.environ.get("JAXROBUST_FSDD_DIR") or os.path.join(
    ROOT, os.pardir, "shared", "data", "fsdd")

requires_fsdd = pytest.mark.skipif(
    not os.path.isdir(os.path.join(FSDD_DIR, "recordings")),
    reason=f"FSDD not found at {FSDD_DIR} (set JAXROBUST_FSDD_DIR to a folder holding "
           "FSDD's recordings/; CC BY-SA 4.0, github.com/Jakobovski/free-spoken-digit-dataset)")
