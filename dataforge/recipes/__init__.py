"""Post-training data recipes: math problems with known answers, think budgets, and the pieces the
example graphs under examples/recipes/ are built from (best-of-n with verifiers, preference pairs,
DeepSeek-V3-style dual samples)."""

from dataforge.recipes.math_problems import MathProblem, math_problems

__all__ = ["MathProblem", "math_problems"]
