"""``limr-kit train``: recipes that train LIMR and its baselines with OpenRLHF (PPO on Ray) or TRL (GRPO)."""

from limr_kit.parsing import parse_assignments
from limr_kit.train.recipes import LoadedRecipe, Overrides, Recipe, load_recipe, recipe_names
from limr_kit.train.run import TrainOptions, TrainResult, default_run_folder, train


__all__ = [
    "LoadedRecipe",
    "Overrides",
    "Recipe",
    "TrainOptions",
    "TrainResult",
    "default_run_folder",
    "load_recipe",
    "parse_assignments",
    "recipe_names",
    "train",
]
