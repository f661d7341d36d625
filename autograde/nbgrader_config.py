"""nbgrader configuration for this book's courses.

Loaded by :mod:`autograde.course` for every command; a course directory created by
``optbook-grade`` gets a one-line ``nbgrader_config.py`` that loads this file, so instructors
can also use plain ``nbgrader`` commands (formgrader, manual grading) on the same course.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from autograde.pipeline import EXECUTE, RECORD, SANITIZE

c = get_config()  # noqa: F821  (provided by traitlets when this file is loaded)

c.CourseDirectory.course_id = "optbook"
# Submissions are graded as written; a file that is not a notebook is reported, not copied.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# A graded cell the student deleted is put back from the source and graded, not skipped.
c.OverwriteCells.add_missing_cells = True

# Students get the standard stubs.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The grading pipeline (autograde/pipeline.py), the same steps the parallel runner takes.
c.Autograde.sanitize_preprocessors = SANITIZE
c.Autograde.autograde_preprocessors = EXECUTE + RECORD
c.GradingExecute.timeout = 60  # seconds per cell: a runaway cell fails, the notebook goes on
c.GradingExecute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

# Feedback shows the grader's messages but never the hidden tests' code.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
