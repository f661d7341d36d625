"""The grading pipeline: the one list of preprocessors a submission goes through.

Stock ``nbgrader autograde`` (through ``nbgrader_config.py``) runs ``SANITIZE``, then
``EXECUTE + RECORD``; the parallel runner (:mod:`autograde.runner`) runs ``SANITIZE + EXECUTE``
in a worker and ``RECORD`` in the one process that writes the gradebook. Both paths therefore
apply the same steps in the same order.
"""

from __future__ import annotations

from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograde.execute import GradingExecute
from autograde.sanitize import CapOutputs, RestoreCells
from autograde.verdicts import DecideVerdicts

# Graded cells come back from the gradebook whatever the student did to them. Only reads
# the gradebook, so it may run in a worker.
SANITIZE = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreCells, CheckCellMetadata]

# The sandboxed run, then the hidden checks decided outside the kernel, before anyone reads
# the scores. (nbgrader's default list also has nbconvert's ClearMetadataPreprocessor, which
# is disabled unless configured: a step that does nothing is left out.)
EXECUTE = [GradingExecute, CapOutputs, IgnorePattern, DecideVerdicts, LimitOutput]

# Scores and late penalties into the gradebook: one writer at a time.
RECORD = [SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
