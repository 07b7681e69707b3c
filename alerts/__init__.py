"""预警 (alerts): alerts for the monitor, notifications, escalation, leadership digests."""
