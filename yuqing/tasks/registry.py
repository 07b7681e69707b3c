"""Every RQ job by name, in one place (任务登记): what the stages enqueue for one another.

A stage hands work to the next one through a job, and the next stage may sit above it in the
package graph (analysis wakes alerts and the response workflow, a closing ticket asks the
dashboards for its report), so a job is named by its import path here rather than imported as
a function: the core names them, nobody imports upward. tests/test_tasks_registry.py checks
that every name resolves to a function and that no module passes a job path of its own.

Names are what RQ stores with every queued job, and two are stored for long: a deadline check
is scheduled in Redis hours or days ahead (:data:`CHECK_DEADLINE`), and a Delivery row keeps
its callback in the database (:data:`REFERRAL_DELIVERED`). Moving one of those functions
strands what was stored under the old name.
"""

from __future__ import annotations

# crawl: fetch sources (crawlers/jobs.py)
CRAWL_SOURCE = "yuqing.crawlers.jobs.crawl_source"
ENQUEUE_DUE_SOURCES = "yuqing.crawlers.jobs.enqueue_due_sources"  # periodic

# analyse: score, fold, group (analysis/jobs.py)
ANALYSE_ITEMS = "yuqing.analysis.jobs.analyse_items"
MARK_QUIET_EVENTS = "yuqing.analysis.jobs.mark_quiet_events"  # periodic
ENQUEUE_UNANALYSED = "yuqing.crawlers.jobs.enqueue_unanalysed"  # periodic: stored, never analysed
INDEX_NEW_ITEMS = "yuqing.dashboards.search.index_new_items"  # periodic: the search index

# respond: tickets, clocks, referrals (queue/jobs.py), reports
CONSIDER_EVENT = "yuqing.queue.jobs.consider_event"
CONSIDER_EVENTS = "yuqing.queue.jobs.consider_events"  # analysis's batch: consider_event for each event
FINAL_REPORTS = "yuqing.queue.jobs.final_reports"
MERGED_EVENT = "yuqing.queue.jobs.merged_event"  # analysis merged an event: its alert and ticket settle
SWEEP_DEADLINES = "yuqing.queue.jobs.sweep"  # periodic
CHECK_DEADLINE = "yuqing.queue.clocks.check_deadline"  # stored in Redis: scheduled days ahead
REFERRAL_DELIVERED = "yuqing.queue.referrals.on_delivery"  # stored in the database: Delivery.callback
GENERATE_REPORT = "yuqing.dashboards.reports.generate_report"  # 事后回应报告 when a ticket closes
REVIEW_DUE_ASSESSMENTS = "yuqing.foresight.watch.review_due"  # periodic: 出台后关注期满的复盘
DRAFT_PERIOD_STATISTICS = "yuqing.dashboards.period.draft_due"  # periodic: 半年、全年回应关切统计初稿

# notify: alerts, deliveries, digests (alerts/jobs.py)
EVALUATE_EVENT = "yuqing.alerts.jobs.evaluate_event"
EVALUATE_EVENTS = "yuqing.alerts.jobs.evaluate_events"  # analysis's batch: evaluate_event for each event
DELIVER = "yuqing.alerts.jobs.deliver"
SOURCE_UNHEALTHY = "yuqing.alerts.jobs.source_unhealthy"
SEND_MAJOR_DIGEST = "yuqing.alerts.jobs.send_major_digest"
SWEEP_ALERTS = "yuqing.alerts.jobs.sweep_alerts"  # periodic
SEND_DUE_DIGESTS = "yuqing.alerts.jobs.send_due_digests"  # periodic

# Run by every worker before its first job: load heavy state (jieba, the models) once.
PRELOAD = ("yuqing.analysis.jobs.preload",)


def all_jobs() -> dict[str, str]:
    """{constant name: job path} of every job above (for the registry's test and for tools)."""
    return {name: value for name, value in globals().items() if name.isupper() and isinstance(value, str)}
