"""
A free-energy surface and its minimum free-energy path
======================================================

Free-energy surface, minimum free-energy path and barriers on the Müller–Brown potential.

Equilibrium samples of two CVs come from a seeded overdamped-Langevin run (kT = 15 Müller–Brown
units at 300 K); F = V + const is the exact answer. The histogram, the Gaussian process and the
string method give the surface, its minima and the barriers between them, with error bars.

Run: python examples/fes_mueller_brown.py   (writes fes_mueller_brown.png in the current folder)
"""

import numpy as np

from trajml.fes import GaussianProcessFES, HistogramFES, find_minima, minimum_path

KT = 0.00831446261815324 * 300.0  # kJ/mol
A = np.array([-200.0, -100.0, -170.0, 15.0])
a, b, c = np.array([-1.0, -1.0, -6.5, 0.7]), np.array([0.0, 0.0, 11.0, 0.6]), np.array([-10.0, -10.0, -6.5, 0.7])
X0, Y0 = np.array([1.0, 0.0, -0.5, -1.0]), np.array([0.0, 0.5, 1.5, 1.0])
BOX = [(-1.7, 1.3), (-0.5, 2.2)]


def energy_and_grad(p):
    """Müller–Brown potential (kJ/mol) and its gradient at points p, shape (n, 2)."""
    dx, dy = p[:, :1] - X0, p[:, 1:] - Y0
    e = A * np.exp(a * dx * dx + b * dx * dy + c * dy * dy) * KT / 15.0
    grad = np.stack([(e * (2 * a * dx + b * dy)).sum(1), (e * (b * dx + 2 * c * dy)).sum(1)], axis=1)
    return e.sum(1), grad


def sample(n, seed=1, steps=400, dt=5e-5):
    """Walkers started from exp(-V/kT) on a fine grid, then relaxed by overdamped Langevin dynamics."""
    rng = np.random.default_rng(seed)
    g = np.stack([m.ravel() for m in np.meshgrid(np.arange(*BOX[0], 0.005), np.arange(*BOX[1], 0.005))], axis=1)
    v, _ = energy_and_grad(g)
    p = np.exp(-(v - v.min()) / KT)
    x = g[rng.choice(len(g), size=n, p=p / p.sum())] + rng.uniform(-0.0025, 0.0025, size=(n, 2))
    for _ in range(steps):
        x = x - energy_and_grad(x)[1] / KT * dt + np.sqrt(2 * dt) * rng.standard_normal(x.shape)
    lo, hi = np.array(BOX).T
    return x[np.all((x >= lo) & (x <= hi), axis=1)]


def main():
    x = sample(20_000)
    hist = HistogramFES(temperature=300.0, bins=50, ranges=BOX).fit(x).fetch_model()
    gp = GaussianProcessFES(temperature=300.0, bins=50, ranges=BOX).fit(x).fetch_model()
    pts = gp.grid_points()
    v, _ = energy_and_grad(pts)
    region = v - v.min() < 8 * KT
    for model in (hist, gp):
        F = model.predict(pts)
        ok = region & np.isfinite(F)
        d = F[ok] - v[ok]
        print(f"{model.method:4s}: RMSE vs the exact F within 8 kT = {np.std(d) / KT:.2f} kT "
              f"over {ok.sum() / region.sum():.0%} of that region")

    mins = find_minima(gp, max_free_energy=8 * KT)
    for name, p, f, s in zip("ABC", mins.points, mins.free_energy_kJmol, mins.uncertainty_kJmol):
        print(f"minimum {name} at ({p[0]:+.3f}, {p[1]:+.3f}): F = {f / KT:.2f} ± {s / KT:.2f} kT")
    path = minimum_path(gp, mins.points[0], mins.points[1])
    for k, sp in enumerate(path.saddle_points):
        print(f"saddle {k + 1} at ({sp[0]:+.3f}, {sp[1]:+.3f}): barrier {path.barriers_forward_kJmol[k] / KT:.2f} ± "
              f"{path.barriers_forward_std_kJmol[k] / KT:.2f} kT forward, "
              f"{path.barriers_backward_kJmol[k] / KT:.2f} ± {path.barriers_backward_std_kJmol[k] / KT:.2f} kT back")
    print(f"F(B) - F(A) = {path.delta_kJmol / KT:.2f} ± {path.delta_std_kJmol / KT:.2f} kT (exact 2.57 kT); "
          f"exact barriers A->C 7.07, C->B 0.57 kT")

    try:
        import matplotlib

        matplotlib.use("Agg")
        from trajml.plotting import plot_fes
    except ImportError:
        return
    plot_fes(gp, minima=mins, paths=[path], basins=gp.basins(mins)).savefig("fes_mueller_brown.png", dpi=100)
    print("wrote fes_mueller_brown.png")


if __name__ == "__main__":
    main()
