"""Plugging fitted predictors into NAS: pymoo problems, a differentiable term, verification."""
from .differentiable import DifferentiableMetric
from .objectives import NASError, PredictorObjective, TableObjective
from .problem import ArchEncoding, ArchProblem
from .search import SearchResult, nsga2_search, random_search
from .verify import Verification, verify_selection

__all__ = ["ArchEncoding", "ArchProblem", "DifferentiableMetric", "NASError", "PredictorObjective", "SearchResult",
           "TableObjective", "Verification", "nsga2_search", "random_search", "verify_selection"]
