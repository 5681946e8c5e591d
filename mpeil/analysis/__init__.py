"""Research and policy analysis on top of scores: benchmark datasets, Monte Carlo uncertainty,
A–G labels and limit trajectories, district material flows, option sensitivity. Import the
submodules directly. Analyses sit after ``api``: they score through a :class:`~mpeil.api.Scorer`."""
