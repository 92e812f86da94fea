r"""Closed forms, smoothness and sharpness of linear adversarial losses, with figures.

  python -m experiments.linear_theory --workdir=runs/linear_theory
  python -m experiments.linear_theory \
      --config=experiments/configs/linear_theory.py:tiny --workdir=/tmp/lt

Writes to the workdir: loss_surfaces.png (clean, L2 and Linf adversarial
logistic loss over w in 2-D), gradient_lipschitz.png (finite-difference
estimates across a coordinate zero, near w = 0, and against eps),
trajectory_lipschitz.png (along gradient descent), eigenvalue_vs_eps.png (top
Hessian eigenvalue at the optimum of L2 adversarial logistic regression, and
for a PGD-trained MLP), table.json and table.md.

References: Kanai et al., "Smoothness Analysis of Adversarial Training",
arXiv:2103.01400 (2021); Yamada et al., "Adversarial Training Makes Weight Loss
Landscape Sharper in Logistic Regression", arXiv:2102.02950 (2021).
"""

import json
import os
import time

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from absl import flags, logging

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments import pipeline  # noqa: E402
from jaxrobust import _checks, data  # noqa: E402
from jaxrobust.theory import network, sharpness, smoothness  # noqa: E402


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags("linear_theory.py", "runs/linear_theory")


FLAGS = flags.FLAGS

# Below this ||w*|| the optimum sits at the kink w = 0 (the classifier is
# constant); the Hessian is undefined there and is not reported.
ZERO_W = 1e-3


def _digits_pair(a, b):
  d = data.load("digits", "train")
  keep = (d.labels == a) | (d.labels == b)
  x = jnp.asarray(data.to_float(d.images[keep]).reshape(int(keep.sum()), -1))
  return x, jnp.where(jnp.asarray(d.labels[keep]) == b, 1.0, -1.0)


def sharpness_sweep(config, name, x, y, epsilons, weight_decay, key):
  """Rows (dicts) of the optimum and its Hessian for each eps; one compile per dataset."""
  @jax.jit
  def one(eps):
    f = sharpness.objective(x, y, eps, "l2", weight_decay)
    fit = sharpness.minimize(f, sharpness.initial_theta(x, y), config.lbfgs_steps)
    s = sharpness.measure_sharpness(f, fit.theta, key=key, lanczos_iters=config.lanczos_iters,
                                    trace_samples=config.trace_samples)
    clean = jnp.mean(jnp.sign(x @ fit.theta[:-1] + fit.theta[-1]) == y)
    return fit, s, clean, sharpness.robust_accuracy(fit.theta, x, y, eps, "l2")

  rows = []
  for eps in epsilons:
    fit, s, clean, robust = one(jnp.float32(eps))
    w_norm = float(jnp.linalg.norm(fit.theta[:-1]))
    defined = w_norm > ZERO_W
    row = {"dataset": name, "eps": float(eps), "weight_decay": float(weight_decay),
           "n": int(x.shape[0]), "d": int(x.shape[1]), "w_norm": w_norm,
           "loss": float(fit.value), "grad_norm": float(fit.grad_norm),
           "clean_acc": float(clean), "robust_acc": float(robust)}
    for field, value in s._asdict().items():
      row[field] = float(value) if defined else None
    rows.append(row)
    logging.info("%s", row)
  return rows


def network_sweep(config, key):
  d = data.load("digits", "train")
  x = jnp.asarray(data.to_float(d.images))
  labels = jnp.asarray(d.labels)
  c = config.network

  @jax.jit
  def one(eps):
    net = network.train_pgd_at(key, x, labels, eps, classes=10, hidden=c.hidden,
                               attack_steps=c.attack_steps, train_steps=c.train_steps,
                               learning_rate=c.learning_rate, weight_decay=c.weight_decay)
    s = network.net_sharpness(net.params, net.x_adv, labels, key=jax.random.fold_in(key, 1),
                              lanczos_iters=c.lanczos_iters, trace_samples=config.trace_samples)
    return net.adv_loss, net.clean_accuracy, net.adv_accuracy, s

  rows = []
  for eps in c.eps:
    loss, clean, adv, s = one(jnp.float32(eps))
    rows.append({"dataset": "digits-mlp (10 classes, L2 PGD-AT)", "eps": float(eps),
                 "adv_loss": float(loss), "clean_acc": float(clean), "pgd_acc": float(adv),
                 **{k: float(v) for k, v in s._asdict().items()}})
    logging.info("%s", rows[-1])
  return rows


def smoothness_figures(config, workdir):
  """Finite-difference gradient-Lipschitz estimates; returns the summary dict."""
  c = config.smoothness
  x, y = sharpness.overlapping_gaussians(jax.random.key(config.seed), n=200, dim=5,
                                         separation=2.0)
  theta = jnp.asarray([1.0, 0.0, 0.5, -0.7, 0.3, 0.1])  # w_1 = 0
  e1 = jnp.zeros(6).at[1].set(1.0)
  steps = jnp.asarray(c.steps)

  @jax.jit
  def across(eps):
    return {p: smoothness.gradient_lipschitz_across(sharpness.objective(x, y, eps, p), theta,
                                                    e1, steps) for p in ("l2", "linf")}

  @jax.jit
  def near_zero(scales):
    f = sharpness.objective(x, y, c.eps, "l2")
    return jax.vmap(lambda s: smoothness.hessian_norm(f, theta.at[:-1].multiply(s)))(scales)

  @jax.jit
  def trajectory():
    out = {}
    for p in ("l2", "linf"):
      f = sharpness.objective(x, y, c.eps, p)
      path = smoothness.gradient_descent_path(f, sharpness.initial_theta(x, y, 0.5),
                                              c.learning_rate, c.trajectory_steps)
      out[p] = (smoothness.gradient_lipschitz_along_path(f, path), jax.vmap(f)(path),
                path)
    return out

  est = {eps: across(jnp.float32(eps)) for eps in c.eps_range}
  at = across(jnp.float32(c.eps))
  scales = jnp.logspace(0, -3, 7)
  hess = near_zero(scales)
  traj = trajectory()
  w_norm = float(jnp.linalg.norm(theta[:-1]))
  bound = lambda eps: float(smoothness.l2_gradient_lipschitz_bound(x, eps, w_norm - 0.1))

  fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
  ax = axes[0]
  ax.loglog(c.steps, at["l2"], "o-", label="L2")
  ax.loglog(c.steps, at["linf"], "s-", label="Linf")
  ax.axhline(bound(c.eps), color="gray", ls="--", label="L2 bound (||w|| >= c)")
  ax.set(xlabel="h", ylabel="||g(w+h e1) - g(w-h e1)|| / 2h",
         title=f"across w_1 = 0, eps = {c.eps}")
  ax.legend()
  ax = axes[1]
  norms = np.asarray(scales) * w_norm
  ax.loglog(norms, hess, "o-", label="||Hessian||, L2 adversarial")
  ax.loglog(norms, c.eps * 0.5 / norms, ":", color="gray", label="eps |l'(0)| / ||w||")
  ax.set(xlabel="||w||", ylabel="spectral norm", title="L2: smooth except at w = 0")
  ax.legend()
  ax = axes[2]
  ax.semilogy(c.eps_range, [float(est[e]["l2"][-1]) for e in c.eps_range], "o-",
              label=f"L2, h = {c.steps[-1]:g}")
  ax.semilogy(c.eps_range, [float(est[e]["linf"][-1]) for e in c.eps_range], "s-",
              label=f"Linf, h = {c.steps[-1]:g}")
  ax.semilogy(c.eps_range, [bound(e) for e in c.eps_range], "--", color="gray",
              label="L2 bound")
  ax.set(xlabel="eps", ylabel="gradient-Lipschitz estimate", title="effect of eps")
  ax.legend()
  fig.tight_layout()
  fig.savefig(os.path.join(workdir, "gradient_lipschitz.png"), dpi=120)
  plt.close(fig)

  fig, axes = plt.subplots(1, 2, figsize=(11, 4))
  for p, marker in (("l2", "-"), ("linf", "-")):
    ratios, losses, _ = traj[p]
    axes[0].semilogy(np.maximum(np.asarray(ratios), 1e-8), marker, label=p)
    axes[1].plot(losses, label=p)
  axes[0].set(xlabel="gradient-descent step t", ylabel="||g_{t+1} - g_t|| / ||w_{t+1} - w_t||",
              title=f"along the trajectory, eps = {c.eps}")
  axes[1].set(xlabel="step", ylabel="adversarial loss")
  for ax in axes:
    ax.legend()
  fig.tight_layout()
  fig.savefig(os.path.join(workdir, "trajectory_lipschitz.png"), dpi=120)
  plt.close(fig)

  return {
      "eps": c.eps, "steps": list(c.steps),
      "across_zero": {p: [float(v) for v in at[p]] for p in at},
      "l2_bound": bound(c.eps),
      "hessian_norm_near_zero": {"w_norm": norms.tolist(), "norm": np.asarray(hess).tolist()},
      "vs_eps": {str(e): {p: float(est[e][p][-1]) for p in est[e]} for e in c.eps_range},
      "trajectory_max_ratio": {p: float(jnp.max(traj[p][0])) for p in traj},
      "trajectory_final_loss": {p: float(traj[p][1][-1]) for p in traj},
  }


def loss_surfaces(config, workdir):
  x, y = sharpness.overlapping_gaussians(jax.random.key(config.seed), n=200, dim=2,
                                         separation=2.0)
  grid = jnp.linspace(-3, 3, 121)
  w1, w2 = jnp.meshgrid(grid, grid)
  thetas = jnp.stack([w1.ravel(), w2.ravel(), jnp.zeros(w1.size)], axis=-1)
  eps = 0.5
  panels = [("clean", 0.0, "l2"), (f"L2, eps = {eps}", eps, "l2"),
            (f"Linf, eps = {eps}", eps, "linf")]
  fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
  for ax, (title, e, p) in zip(axes, panels):
    f = jax.jit(jax.vmap(sharpness.objective(x, y, e, p)))
    z = np.asarray(f(thetas)).reshape(w1.shape)
    cs = ax.contour(np.asarray(w1), np.asarray(w2), z, levels=25)
    ax.clabel(cs, fontsize=6)
    ax.axhline(0, color="k", lw=0.4)
    ax.axvline(0, color="k", lw=0.4)
    ax.set(title=title, xlabel="w_1", ylabel="w_2")
  fig.suptitle("adversarial logistic loss over w (b = 0): Linf has kinks on the axes, L2 only at 0")
  fig.tight_layout()
  fig.savefig(os.path.join(workdir, "loss_surfaces.png"), dpi=120)
  plt.close(fig)


def eigen_figure(rows, net_rows, workdir):
  fig, axes = plt.subplots(1, 2, figsize=(11, 4))
  for name in dict.fromkeys(r["dataset"] for r in rows):
    sel = [r for r in rows if r["dataset"] == name and r["top_exact"] is not None]
    axes[0].semilogy([r["eps"] for r in sel], [r["top_exact"] for r in sel], "o-", label=name)
  axes[0].set(xlabel="eps (L2)", ylabel="top Hessian eigenvalue at the optimum",
              title="L2 adversarial logistic regression")
  axes[0].legend(fontsize=7)
  axes[1].plot([r["eps"] for r in net_rows], [r["top_lanczos"] for r in net_rows], "o-",
               label="top (Lanczos)")
  axes[1].plot([r["eps"] for r in net_rows], [r["trace_hutchinson"] / 10 for r in net_rows],
               "s--", label="trace / 10 (Hutchinson)")
  axes[1].set(xlabel="eps (L2)", title="MLP on digits, PGD-AT, at the end of training")
  axes[1].legend()
  fig.tight_layout()
  fig.savefig(os.path.join(workdir, "eigenvalue_vs_eps.png"), dpi=120)
  plt.close(fig)


def _markdown(rows, columns):
  fmt = lambda v: "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  lines += ["| " + " | ".join(fmt(r[c]) for c in columns) + " |" for r in rows]
  return "\n".join(lines)


def check_config(config) -> None:
  """Bad sizes, radii and rates fail before any part runs."""
  nonneg, pos = pipeline.NONNEGATIVE, pipeline.POSITIVE
  pipeline.check_config(config, ints={
      "seed": 0, "lanczos_iters": 1, "lbfgs_steps": 1, "trace_samples": 1, "synthetic.n": 2,
      "synthetic.dim": 1, "network.attack_steps": 1, "network.hidden": 1,
      "network.lanczos_iters": 1, "network.train_steps": 1,
      "smoothness.trajectory_steps": 1},
      reals={"synthetic.eps": nonneg, "synthetic.separation": nonneg, "digits.eps": nonneg,
             "digits.weight_decay": nonneg, "network.eps": nonneg,
             "network.learning_rate": pos, "network.weight_decay": nonneg,
             "smoothness.eps": nonneg, "smoothness.eps_range": nonneg,
             "smoothness.learning_rate": pos, "smoothness.steps": pos})
  for i, pair in enumerate(config.digits.pairs):
    for digit in pair:
      _checks.check_int(f"config.digits.pairs[{i}] digit", digit, 0, 9)


def run(config, workdir):
  """Runs every part and writes figures and tables to workdir; returns the table dict."""
  check_config(config)
  os.makedirs(workdir, exist_ok=True)
  key = jax.random.key(config.seed)
  start = time.time()
  loss_surfaces(config, workdir)
  smooth = smoothness_figures(config, workdir)

  s = config.synthetic
  x, y = sharpness.overlapping_gaussians(jax.random.fold_in(key, 1), n=s.n, dim=s.dim,
                                         separation=s.separation)
  rows = sharpness_sweep(config, f"gaussians d={s.dim} sep={s.separation} (wd 0)", x, y,
                         s.eps, 0.0, key)
  for a, b in config.digits.pairs:
    x, y = _digits_pair(a, b)
    rows += sharpness_sweep(config, f"digits {a} vs {b} (wd {config.digits.weight_decay:g})",
                            x, y, config.digits.eps, config.digits.weight_decay, key)
  net_rows = network_sweep(config, jax.random.fold_in(key, 2))
  eigen_figure(rows, net_rows, workdir)

  table = {"logistic_regression": rows, "network": net_rows, "smoothness": smooth,
           "seconds": time.time() - start}
  with open(os.path.join(workdir, "table.json"), "w") as f:
    json.dump(table, f, indent=1)
  lr_cols = ["dataset", "eps", "w_norm", "loss", "grad_norm", "clean_acc", "robust_acc",
             "top_exact", "top_lanczos", "top_power", "trace_exact", "trace_hutchinson"]
  net_cols = ["eps", "adv_loss", "clean_acc", "pgd_acc", "top_lanczos", "top_power",
              "trace_hutchinson"]
  sm = smooth
  md = ["# Linear adversarial losses: numerics", "",
        "## Sharpness at the optimum of L2 adversarial logistic regression",
        f"(`-` = the optimum is w* = 0, below {ZERO_W}: the Hessian is undefined there)", "",
        _markdown(rows, lr_cols), "",
        "## Softmax MLP on digits, L2 PGD-AT (Hessian at fixed PGD examples)", "",
        _markdown(net_rows, net_cols), "",
        f"## Gradient-Lipschitz estimates (eps = {sm['eps']}), across w_1 = 0", "",
        _markdown([{"h": h, "L2": a, "Linf": b} for h, a, b in
                   zip(sm["steps"], sm["across_zero"]["l2"], sm["across_zero"]["linf"])],
                  ["h", "L2", "Linf"]),
        "", f"L2 bound on ||w|| >= ||w|| - 0.1: {sm['l2_bound']:.4g}; "
        f"max ratio along gradient descent: L2 {sm['trajectory_max_ratio']['l2']:.4g}, "
        f"Linf {sm['trajectory_max_ratio']['linf']:.4g}", ""]
  with open(os.path.join(workdir, "table.md"), "w") as f:
    f.write("\n".join(md))
  return table


main = pipeline.report_main("linear_theory", run, logging.INFO, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
