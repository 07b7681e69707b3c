"""看板 (dashboards): the web app for the monitor, leadership and department liaisons."""
