"""公文 (official documents that leave the building): one renderer for every document.

A document is gathered into a plain record (:class:`~yuqing.documents.model.OfficialDocument`)
by the subsystem that owns its facts, then laid out here, once, following GB/T 9704-2012
(党政机关公文格式): as DOCX (python-docx) and as PDF (the same content as HTML printed by
Debian's headless Chromium). Chinese dates, the 期号 series in the store, the event's one
current account, the CJK chart set-up and the machine-text check live beside it.
"""

from .model import (
           Block,
           Heading,
           Link,
           OfficialDocument,
           Paragraph,
           Picture,
           Table,
           Unbroken,
           issue_number,
)

__all__ = ["Block", "Heading", "Link", "OfficialDocument", "Paragraph", "Picture", "Table", "Unbroken",
           "issue_number"]
