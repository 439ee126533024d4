"""Tools the receptionist model can call; each sees only its own tenant."""

from agent.tools.base import ToolContext, ToolOutcome
from agent.tools.registry import TOOLS, run_tool

__all__ = ["TOOLS", "ToolContext", "ToolOutcome", "run_tool"]
