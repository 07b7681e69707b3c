"""What a spider yields: one raw post or article (帖文/稿件), before the pipeline normalises it."""

import scrapy


class CrawledItem(scrapy.Item):
    """Raw fields as found on the page; :mod:`.pipelines` normalises them exactly once."""

    url = scrapy.Field()  # where the item lives (canonicalised by the pipeline)
    title = scrapy.Field()
    text = scrapy.Field()  # plain text or HTML; the pipeline strips tags
    author = scrapy.Field()
    source_unit = scrapy.Field()  # 来源单位 (ContentSource, the 来源 line): not the author
    column = scrapy.Field()  # 栏目 (ColumnName)
    published = scrapy.Field()  # raw time text, an epoch number, or a datetime
    engagement = scrapy.Field()  # {reposts, comments, likes, views}: numbers or text like "1.2万"
    platform = scrapy.Field()
    raw = scrapy.Field()  # {url, status, headers, body}: the page as fetched, for its snapshot
    gone = scrapy.Field()  # True: a stored page found deleted (404/410, 内容已删除)
    raw_ref = scrapy.Field()  # where the raw fetch came from, for audit (the fetched URL)
