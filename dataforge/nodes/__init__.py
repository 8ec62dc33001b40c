"""Node kinds: LLM transform, best-of-n, LLM judge, Python function, filter, and a graph used as a node."""

from dataforge.nodes.base import Context, Drop, Item, Node, Outcome, Quarantined, WalkContext, WalkStep, carry
from dataforge.nodes.best_of_n import BestOfN
from dataforge.nodes.func import FilterNode, FunctionNode, NodeLLM
from dataforge.nodes.judge import JudgeNode
from dataforge.nodes.llm import LLMNode
from dataforge.nodes.parsing import ParseError, parse_json_object
from dataforge.nodes.subgraph import GraphNode

__all__ = ["BestOfN", "Context", "Drop", "FilterNode", "FunctionNode", "GraphNode", "Item", "JudgeNode", "LLMNode", "Node",
           "NodeLLM", "Outcome", "ParseError", "Quarantined", "WalkContext", "WalkStep", "carry",
           "parse_json_object"]
