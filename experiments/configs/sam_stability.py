r"""SAM near saddle points (experiments/sam_stability.py): which problems, starts and radii.

Modes:
  ""       this project's settings (`PROBLEMS` below): starts
           near each saddle, escape-time tables with noisy SGD and rho bracketing
           Kim et al.'s threshold.
  authors  the demonstrations of Kim et al.'s code (github.com/Harry24k/sam-saddle):
           x^2 - y^2 from (-3, -0.01), SGD lr 0.01 without momentum, 500 steps, GD
           vs normalised SAM with rho 0.5 (sam_stability/saddle/demo.py); Beale
           from (1, 2), SGD lr 1e-3 / 80 without momentum, GD run until the
           authors' convergence rule stops it (`sam_stability.GD_STOP`: within 0.15 of
           the minimum (3, 0.5), or within 0.55 of it and stalled; at most 100,000
           steps) and normalised SAM with rho 0.1, 0.5, 1.0 for as many steps, in
           float64 (sam_stability/config.py, experiments/beale.py,
           optim/runner.py). Their SAM's norm guard (1e-16) is this library's
           1e-12, far below every gradient norm here.
  tiny     a seconds-long smoke run.

  python -m experiments.sam_stability --config=experiments/configs/sam_stability.py:authors \
      --workdir=runs/sam_stability_authors

Measured (authors mode, ~9 s of CPU):
  x^2 - y^2, 500 steps: GD escapes along y (|y| > 1 at step 233; final
    (-1.2e-4, -199.6)). SAM rho 0.5 is captured: |y| grows only until the
    distance to the saddle drops below rho (step 63, |y| = 0.020), then y
    contracts to 7e-11 while x settles into the two-cycle x = +-lr rho / (1 - lr)
    = +-0.00505 around the saddle (the normalised step never shrinks).
  Beale: GD stops after 87,683 steps (the stall rule, 0.55 from the minimum).
    GD and SAM rho 0.1 pass within 0.54 / 0.48 of the saddle (0, 1), leave its
    unit neighbourhood (steps 6,513 / 7,130) and end at (2.48, 0.34) / (2.55,
    0.36), loss 0.083 / 0.054. SAM rho 0.5 and 1.0 are captured by the saddle:
    they end within 8e-5 / 1.4e-4 of (0, 1), at its loss 14.2, and never leave.
  So both demonstrations show the paper's point: with rho large enough a saddle
  that GD escapes becomes an attractor of SAM. (Both saddles have one negative
  eigenvalue, -2 and -27.75; the threshold statement is in
  jaxrobust.optim.stability's doc.)
"""

import ml_collections

# This project's settings: starts near each saddle; usam_rhos bracket Kim et
# al.'s threshold (1/2 on x^2 - y^2, 0.036 on Beale).
PROBLEMS = {
    "saddle": dict(loss="saddle", w0=(0.5, 1e-3), lr=0.05, steps=400, noise=0.01,
                   sam_rhos=(0.005, 0.05, 0.2, 1.0), usam_rhos=(0.2, 0.4, 0.6, 1.0)),
    "beale": dict(loss="beale", w0=(0.3, 1.2), lr=0.01, steps=3000, noise=0.05,
                  sam_rhos=(0.01, 0.05, 0.1, 0.2), usam_rhos=(0.01, 0.02, 0.05)),
}


def _section(spec) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict({"gd_until_converged": False, **spec})


def get_config(mode: str = "") -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seeds = 5  # seeds of the stochastic (SGD) runs
  c.float64 = False
  # Plot window per problem ((x_min, x_max), (y_min, y_max)).
  c.plot_limits = ml_collections.ConfigDict({
      "saddle": ((-0.6, 0.6), (-1.2, 1.2)), "beale": ((-0.5, 3.5), (-0.5, 1.6))})
  c.problems = ml_collections.ConfigDict({name: _section(spec) for name, spec in PROBLEMS.items()})
  if mode == "authors":
    c.float64 = True
    c.problems = ml_collections.ConfigDict({
        "saddle": {"loss": "saddle", "w0": (-3.0, -0.01), "lr": 0.01, "steps": 500,
                   "noise": 0.0, "sam_rhos": (0.5,), "usam_rhos": (),
                   "gd_until_converged": False},
        "beale": {"loss": "beale", "w0": (1.0, 2.0), "lr": 1e-3 / 80, "steps": 100_000,
                  "noise": 0.0, "sam_rhos": (0.1, 0.5, 1.0), "usam_rhos": (),
                  "gd_until_converged": True},
    })
    c.plot_limits = ml_collections.ConfigDict({
        "saddle": ((-3.5, 0.5), (-2.0, 2.0)), "beale": ((-0.5, 3.5), (-0.5, 2.5))})
  elif mode == "tiny":
    c.seeds = 2
    for section in c.problems.values():
      section.steps = 50
      section.sam_rhos = section.sam_rhos[-1:]
      section.usam_rhos = section.usam_rhos[-1:]
  elif mode:
    raise ValueError(f"Unknown config mode {mode!r}; valid: '', 'authors' or 'tiny'.")
  return c
