"""Differential privacy: host-side accounting (dp_accounting), Poisson sampling, clipping."""

from jaxrobust.privacy.accounting import (ACCOUNTANTS, Accountant, calibrate_noise,
                                          dpsgd_event, epsilon)
from jaxrobust.privacy.adversarial import attack_preprocess
from jaxrobust.privacy.clipping import (MODES, clip_factors, clipped_grad_sum,
                                        per_example_grads)
from jaxrobust.privacy.sampling import (bucket_index, bucket_sizes, physical_batch_size,
                                        poisson_batch)
