"""Side-by-side benchmarks of autodl against KerasTuner and plain Optuna (run by hand).

See benchmarks/README.md for the commands and benchmarks/RESULTS.md for the latest figures.
"""
