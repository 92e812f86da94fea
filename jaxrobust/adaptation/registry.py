"""Domain-adaptation methods by name (one line per new method).

A config section is {"name": ..., the method's own fields}, e.g.
{"name": "cdan_e", "weight": 1.0}; an option the method does not have is an
error naming its options.
"""

from __future__ import annotations

from jaxrobust.adaptation.cdan import CDAN
from jaxrobust.adaptation.class_conditional import ClassConditional
from jaxrobust.adaptation.dann import DANN
from jaxrobust.adaptation.source_only import SourceOnly
from jaxrobust.registry import Registry

ADAPTATION_METHODS = Registry("adaptation method")
ADAPTATION_METHODS.register("source_only", SourceOnly)
ADAPTATION_METHODS.register("dann", DANN)
ADAPTATION_METHODS.register("cdan", CDAN, entropy=False)
ADAPTATION_METHODS.register("cdan_e", CDAN, entropy=True)
ADAPTATION_METHODS.register("class_conditional", ClassConditional)
# Class-conditional alignment alone, without the domain-adversarial term.
ADAPTATION_METHODS.register("class_conditional_mmd", ClassConditional, adversarial=0.0)

