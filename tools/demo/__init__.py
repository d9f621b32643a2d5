"""A demo quarter: what the 17 市州 systems and the office would report in one quarter.

`generate_demo()` returns raw reports in contract v1 (docs/CONTRACT.md), in the order they would
be published: each 市州 system (`pref:<code>`) appoints its leaders and reports its projects along
the four lists (二), their milestones (十九), its leaders' trips ((二十一)), themed events (三),
附件3 tasks and 附件4 matters; the office verifies most milestones. Units differ on purpose, so
the ranking is worth looking at. `demo_rejects()` gives malformed reports to show rejections;
`by_sender()` splits the quarter into the runs each system sends under its own key.

Deterministic: the same quarter and seed give the same reports with the same event ids, so
publishing them again is answered "duplicate".

The modules: cast (who and what the quarter is made of), quarter (its days, draws and outbox),
wire (how a report is written), leaders, projects, scripted (the four set cases), units (events,
tasks, matters), generate (all of it, 市州 by 市州), rejects, senders.
"""

from tools.demo.generate import generate_demo
from tools.demo.rejects import demo_rejects
from tools.demo.senders import by_sender

__all__ = ["by_sender", "demo_rejects", "generate_demo"]
