"""Pure computations behind the Labs page: the famous worked examples, one module per lab.

Each module takes plain inputs (lists, tensors, seeds) and returns dataclasses of tensors, so
the page only draws them and the tests can check every printed number of the sources.
No Streamlit here.
"""

from gpt.labs.catalog import LABS, Lab, lab_by_id
from gpt.labs.predict import Score, largest_label

__all__ = ["LABS", "Lab", "Score", "lab_by_id", "largest_label"]
