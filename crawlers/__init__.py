"""采集 (crawlers): Scrapy spiders and feedparser turn configured sources (信源) into items."""
