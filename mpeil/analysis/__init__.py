"""Research and policy analysis on top of scores: benchmark datasets, Monte Carlo uncertainty,
A–G labels and limit trajectories, district material flows. Import the submodules directly."""
