"""Job parameters and the basics of DataArts Factory's expression language (EL), as nodes see them.

* ``${name}``: the job parameter (its value in the job, or the one the run was given); in a script, a
  script argument of the node (``scriptArgs``: ``name=value`` lines) first.
* ``#{Job.name}``, ``#{Job.projectId}``, ``#{Job.getParam("name")}``, ``#{Job.getPlanTime("pattern")}``,
  ``#{Job.getYesterday("pattern")}`` (the day before the plan time), ``#{Job.getNodeStatus("node")}``
  (``success``, ``fail``, ... of a node of the same instance). Patterns are Java's date patterns
  (``yyyy-MM-dd HH:mm:ss.SSS``).

Anything else between ``#{`` and ``}``, or a ``${name}`` no parameter defines, fails the node with
:class:`ExpressionError`: the emulator does not guess what the cloud would have made of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

PARAMETER = re.compile(r"\$\{([A-Za-z0-9_\-]+)\}")
EXPRESSION = re.compile(r"#\{(.*?)\}")
_CALL = re.compile(r'^Job\.(getParam|getPlanTime|getYesterday|getNodeStatus)\(\s*"([^"]*)"\s*\)$')
# Java date pattern letters -> strftime directives (SSS, milliseconds, is handled apart).
_PATTERN = re.compile(r"yyyy|yy|MM|dd|HH|mm|ss|SSS|'[^']*'")
_DIRECTIVES = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}


class ExpressionError(Exception):
    """A parameter or expression the node cannot resolve."""


def java_format(moment: datetime, pattern: str) -> str:
    """``moment`` as Java's SimpleDateFormat writes ``pattern`` (the common letters)."""

    def token(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("'"):
            return text[1:-1]
        if text == "SSS":
            return f"{moment.microsecond // 1000:03d}"
        return moment.strftime(_DIRECTIVES[text])

    return _PATTERN.sub(token, pattern)


@dataclass(frozen=True)
class JobScope:
    """What a node's expressions may read: the job, the run's parameters and the other nodes' states."""

    job_name: str
    project_id: str
    plan_time: datetime
    params: Mapping[str, str]
    node_status: Callable[[str], str | None]

    def resolve(self, text: str, arguments: Mapping[str, str] | None = None) -> str:
        """``text`` with its ``#{...}`` expressions and ``${name}`` parameters (``arguments`` first)
        replaced."""
        values = {**self.params, **(arguments or {})}

        def parameter(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise ExpressionError(f"the parameter ${{{name}}} is not defined")
            return values[name]

        return PARAMETER.sub(parameter, EXPRESSION.sub(lambda m: self._evaluate(m.group(1).strip()), text))

    def _evaluate(self, expression: str) -> str:
        if expression == "Job.name":
            return self.job_name
        if expression == "Job.projectId":
            return self.project_id
        call = _CALL.match(expression)
        if call is None:
            raise ExpressionError(f"the emulator does not evaluate the expression #{{{expression}}}")
        method, argument = call.groups()
        if method == "getParam":
            return self.params.get(argument, "")
        if method == "getPlanTime":
            return java_format(self.plan_time, argument)
        if method == "getYesterday":
            return java_format(self.plan_time - timedelta(days=1), argument)
        status = self.node_status(argument)
        if status is None:
            raise ExpressionError(f"the job has no node {argument}")
        return status
