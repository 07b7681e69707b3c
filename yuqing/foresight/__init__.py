"""舆情风险评估 before a decision (事前研判): a draft policy or measure is compared with the
bureau's own history, scored for risk with reasons, its likely concerns grouped from past posts,
a 解读回应预案 drafted from it, and after release a temporary watch checks the forecast.

Modules: :mod:`.draft` (the draft format), :mod:`.lexicon` (word families as data),
:mod:`.similar` (past events like the draft), :mod:`.assess` (risk and reasons),
:mod:`.concerns`, :mod:`.plan` / :mod:`.plan_docx` (the 预案), :mod:`.records` (stored and
audited), :mod:`.watch` (the watch and its 评估), :mod:`.cli`.
"""
