"""The course wing: everything that teaches and grades, built on the library (``prunerl``) and never imported by it.

- ``grading``: the nbgrader course (``build``, ``grade``, ``check``), the in-kernel ``checks`` and the out-of-process
  ``checker``, the sandbox, the class report.
- ``lessons``: helpers the eight lessons call (as ``L``) and the recorder of the numbers their prose quotes.
- ``interview``: the bilingual question bank, FSRS scheduling, mock interviews and coding rounds.
- ``site``: the course website (Jupyter Book 1).
"""
