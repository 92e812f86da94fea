"""Training objectives: each returns per-example losses for a batch."""

from jaxrobust.defenses._base import Defense
from jaxrobust.defenses.pgd_at import PGDAT
from jaxrobust.defenses.registry import DEFENSES, create, from_config
from jaxrobust.defenses.standard import Standard
