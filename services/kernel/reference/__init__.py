"""The reference data of the 2020 plan (鄂政办发〔2020〕22号), loaded and validated at start-up.

Regions (GB/T 2260), provincial departments, the 附件2 industries, leaders' quotas ((二十一),
(二十二)), the 附件3 tasks, the 附件4 key matters and the (二) key-project rule live in `data/`,
each file naming its source. `reference()` is the packaged data, loaded once per process, as a
`Reference` (model.py); loading.py reads and cross-checks the files, rows.py reads their rows.

Standard library and PyYAML only, so domain code may use it. The bottom layer of the kernel.
"""

from services.kernel.reference.loading import DATA_DIR, load_reference, reference
from services.kernel.reference.model import Reference
from services.kernel.reference.rows import ReferenceDataError

__all__ = ["DATA_DIR", "Reference", "ReferenceDataError", "load_reference", "reference"]
