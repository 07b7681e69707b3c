"""The model card (模型说明): data, labelling rules, cross-validated figures, per genre."""

from __future__ import annotations

from pathlib import Path


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def write_card(path: Path, r: dict) -> None:
    e, emo, rum = r["emergency"], r["emotion"], r["rumor"]
    lines = [
        "# 模型说明 (model card): yuqing analysis models",
        "",
        f"Version `{r['version']}`. Reproduce with `yuqing model train --corpora {r['root']}`",
        "(5-fold StratifiedGroupKFold, seed 0, identical texts kept in one fold; class weights",
        "balanced). The remit model is a linear SVM (liblinear, its margin m shipped as a logistic",
        "sigmoid(2m)) over character 1-3-gram TF-IDF (2^20",
        "hashed buckets, sublinear tf, the IDF of its training rows shipped with it, n-grams of a",
        "single training text weightless) beside the genre (体裁) marker and the non-incident usage",
        "cues of `analysis/usage.py` (weight 0.5); emotion, rumour and risk are logistic regressions over",
        "hashed jieba words+bigrams and character 2-3-grams (2^19 buckets). C chosen on the",
        "out-of-fold predictions. Weights ship in `analysis/models/*.npz`; no corpus text ships.",
        "",
        "## Data (research use; cite the sources)",
        "- CEC 中文突发事件语料库 (Shanghai University), NLPCC 2017 headlines (FudanNLP/Toutiao),",
        "  CED Weibo rumour set (THUNLP, Song et al. 2018), NLPCC 2020 COVID Weibo emotion set,",
        "  泰迪杯 2020 智慧政务 messages. Only ids of hand-labelled rows are committed",
        "  (`analysis/data/remit_labels.csv`); see `analysis/data/README.md` for the labelling rules.",
        "",
        "## emergency (remit of an emergency-management bureau 应急管理局)",
        "Positive: fires, explosions, earthquakes, floods/rainstorms/typhoons/geological disasters,",
        "production-safety and traffic accidents, rescues, hazards, disaster relief. Negative:",
        "football or figurative 事故/爆炸/地震, epidemics, food poisoning, crime, terrorism, war,",
        "aviation, product defects, fiction.",
        "",
        f"- rows {e['n']}, positives {e['positives']}; linear SVM, C={e['C']}, genre/usage weight"
        f" {e.get('extras_weight', '—')}; decision thresholds per genre "
        f"(chosen on the out-of-fold predictions): "
        + ", ".join(f"{g} **{t}**" for g, t in sorted(e["thresholds"].items()))
        + ". The scorer maps each genre's threshold to 0.5 (`relevance.threshold` in the profile).",
        f"- cross-validated **F1 {_pct(e['f1'])}**, each fold decided with thresholds chosen on the"
        f" other folds (precision {_pct(e['precision'])}, recall "
        f"{_pct(e['recall'])}, ROC AUC {_pct(e['auc'])})",
        f"- plain keyword list (the profile's remit keywords, any match) on the same data: "
        f"**F1 {_pct(e['keyword_f1'])}** (precision {_pct(e['keyword_precision'])}, recall "
        f"{_pct(e['keyword_recall'])})",
        "",
        f"- baseline: character 1-3-gram TF-IDF + logistic regression, trained the same way (same"
        f" folds, C and per-genre thresholds chosen the same way): **F1 {_pct(e.get('char_f1'))}**",
        "",
        f"- shipped pipeline (model + the usage rule below): **F1 {_pct(e['shipped_f1'])}**",
        "",
        "| genre | rows | positives | shipped F1 | precision | recall | model alone F1 | char TF-IDF baseline F1 | keyword F1 | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    targets = {"headline": 0.93, "weibo": 0.80, "article": 0.90, "message": 0.60}
    for g in e["genres"]:
        lines.append(f"| {g['genre']} | {g['n']} | {g['positives']} | **{_pct(g['f1'])}** | "
                     f"{_pct(g['precision'])} | {_pct(g['recall'])} | {_pct(g['model_f1'])} | "
                     f"{_pct(g.get('char_f1'))} | {_pct(g['keyword_f1'])} | {targets[g['genre']]:.2f} |")
    fl = e["floor"]
    lines += [
        "",
        "Reproduce the per-genre figures: `yuqing model train --corpora /work/shared/corpora`",
        "(they are printed in this table and kept in `analysis/models/figures.json`).",
        "",
        "The rule floor of the earlier scorer (two remit topics, or casualties with a remit word, and no",
        f"other bureau's word ⇒ remit ≥ 0.60) fired on {fl['fired']} rows with precision "
        f"**{_pct(fl['precision'])}**, below the 0.9 a rule must show to stay: it is removed. The usage",
        "cues (sports, film, products, lists, history, chit-chat/metaphor, games, popular science) are",
        "model features, and also a precise rule: a cue, no casualties and not a news article ⇒ remit",
        f"at most 0.30. On the corpora it fires on {e['usage_rule']['fired']} rows with precision "
        f"**{_pct(e['usage_rule']['precision'])}** as an out-of-remit rule ({e['usage_rule']['positives_capped']}"
        " positives capped).",
        "One positive rule is kept: a kind of hazard (透水, 爆炸, 火灾 …) with casualties, no usage cue, no",
        f"other bureau's word and no foreign place ⇒ remit at least 0.60. It fires on"
        f" {e['incident_rule']['fired']} rows with precision **{_pct(e['incident_rule']['precision'])}**.",
    ]
    lines += [
        "",
        "Genres: headline = NLPCC headlines and CEC titles; weibo = CED posts and emotion-set posts;",
        "article = CEC title and report text (first 600 characters); message = citizen messages.",
        "At scoring time the genre comes from the record (`genre`), else from the source tier",
        "(social → weibo, forum → message) and shape (a title without body → headline).",
        "",
        "## emotion (negative emotion 负面情绪, feeds risk)",
        "NLPCC 2020 emotion set: fear, anger, sadness, disgust = negative; optimism, gratitude,",
        "surprise = not negative.",
        f"- rows {emo['n']}, positives {emo['positives']}; threshold {emo['threshold']}; "
        f"**F1 {_pct(emo['f1'])}**, ROC AUC {_pct(emo['auc'])}",
        "",
        "## rumor (不实信息 likelihood)",
        "CED Weibo original posts, rumor vs non-rumor (text only; reposts not used).",
        f"- rows {rum['n']}, positives {rum['positives']}; threshold {rum['threshold']}; "
        f"**F1 {_pct(rum['f1'])}**, ROC AUC {_pct(rum['auc'])} (in distribution, cross-validated)",
        "- out of distribution (train on one period, test on the other; CED's rumours of 2010-2012 and",
        "  of 2013-2014 are about different topics; the COVID-era emotion set has no rumour labels):",
    ]
    for name, o in rum["out_of_period"].items():
        lines.append(f"  - {name}: train {o['train']}, test {o['test']}, ROC AUC **{_pct(o['auc'])}**")
    if "out_of_topic" in rum:
        t = rum["out_of_topic"]
        lines += [
            f"- out of topic (`analysis/train.py` `rumor_out_of_topic`): the posts fall into {len(t['topics'])} topics"
            " (KMeans, seed 0, over the SVD of",
            "  the TF-IDF of their content words); each topic in turn is held out and scored by a model",
            "  trained on the others (C 4): pooled ROC AUC"
            f" **{_pct(t['auc'])}**, per topic mean {_pct(t['mean_topic_auc'])}, lowest {_pct(t['min_topic_auc'])}",
            "",
            "  | topic (its most weighted words) | posts | rumours | ROC AUC held out |",
            "  |---|---|---|---|",
        ]
        lines += [f"  | {'、'.join(x['words'])} | {x['n']} | {x['rumours']} | {_pct(x['auc'])} |" for x in t["topics"]]
        lines.append("")
    lines += [
        "- At scoring time questions and disclosure demands (×0.5) and first-person eyewitness reports",
        "  (×0.6) lower the score; the score alone never makes 不实信息: that needs the score ≥",
        "  `judgement.rumor_threshold` (default 0.7) and evidence, either an authoritative item in the",
        "  same event that refutes it (辟谣, 不实, 澄清) or the rumour pattern: an unverifiable claim",
        "  (听说, 网传, 内部消息 …) with a call to spread (求扩散 …) from someone who does not say they saw it.",
        "",
        "## Limits",
        "- Labels for posts outside CEC come from one annotator (hand labels, documented rule);",
        "  the corpora are 2008-2020 and contain no local county news; expect drift.",
        "- The rumour model learns the topics of 2010-2014 Weibo rumours as much as their style;",
        "  its score is one piece of evidence, combined with cue words and the source tier.",
        "- Jurisdiction: a text that names no place of the jurisdiction but names a foreign country or",
        "  city (`analysis/data/foreign_places.csv`), another province, or another city is placed there:",
        "  `in_jurisdiction` false, relevance ≤ `relevance.outside_cap` (0.2), level 一般; the city's other",
        "  counties count half with `jurisdiction.look_out: city`.",
        "",
    ]
    if "risk" in r:
        k = r["risk"]
        lines += [
            "## risk (响应压力, high against low)",
            "Hand-labelled posts (`analysis/data/risk_labels.csv`, rule in `analysis/risk_labels.py` and",
            "`analysis/data/README.md`): a written rule applied by code, then the annotator read the posts",
            "the rule called high, the CED posts it called medium and a random sample, and overrode",
            "the rule where it was wrong (`by = review`). Medium is left out of training and of the AUC.",
            "Features: today's rule evidence (rule score, casualty grade, accusation kinds, complaint,",
            "mobilisation, calls to spread, help requests, panic claims, questions, reach, emotion, a",
            "place outside the jurisdiction, usage cues) beside the shared text features.",
            f"- rows {k['n']} (high {k['positives']}); C={k['C']}; cross-validated **ROC AUC {_pct(k['auc'])}**",
            f"- the rule score alone (noisy-or of the evidence, the scorer before this model): ROC AUC"
            f" {_pct(k['rule_auc'])}; a count of cue words: ROC AUC {_pct(k['cue_auc'])}",
            "- The level keeps the national casualty grade; without casualties the learned score",
            "  grades by `judgement.risk_larger` / `risk_major` (0.7 / 0.9). The reasons still name the",
            "  evidence (casualties, accusations, mobilisation, calls to spread, reach) and the score.",
            "",
        ]
    if "events" in r:
        ev = r["events"]
        lines += [
            "## events (事件归并)",
            "Evaluated on CEC articles grouped by incident (`analysis/eval_events.py`;",
            "`analysis/data/cec_incidents.csv` holds the multi-article incidents, found by reading every",
            "same-category pair of articles within three days, then corrected where the grouper's",
            "disagreements showed a missed pair: 攀枝花 2008-08-30 reported again on 09-03, one 四平",
            "shop fire of 2014-03-29 in two papers). The articles stream through the scorer",
            "and the grouper in report order, with the whole country as the jurisdiction.",
            "Reproduce: `python -m yuqing.analysis.eval_events` (prints the figures as JSON; the shipped",
            "models, so it gives these figures whenever the grouping changes without a retraining).",
            *([f"- Before {ev['before']['change']}: precision {_pct(ev['before']['precision'])},"
               f" recall {_pct(ev['before']['recall'])}."] if ev.get("before") else []),
            f"- articles {ev['articles']}, incidents {ev['incidents']}, events formed {ev['events']};"
            f" pairs in one incident {ev['true_pairs']}",
            f"- pairwise **precision {_pct(ev['precision'])}**, **recall {_pct(ev['recall'])}**"
            f" (same-event pairs {ev['tp']} right, {ev['fp']} wrong; {ev['fn']} same-incident pairs split)",
            *_by_minute(ev),
            "- An item joins an event by the places it shares with it, each counted once by how",
            "  precisely it places the incident (a town 2; a county, a city, a place abroad 1; a",
            "  province ½; a city with its province is one place), plus 1 for the same kind of hazard",
            "  (火灾, 地震 …) where a place is shared: two votes join (`analysis/events.py`).",
            "- It never joins when it names another kind of hazard (透水, 爆炸, 火灾 …) or another town",
            "  (乡镇) of the incident's county than the event's; a shared county name is not enough.",
            "  Towns are compared inside the counties both name (the incident's place): a report filed",
            "  from another city names that city's streets, which do not split it off.",
            "- Places are read so that ordinary words do not become towns: a county's or town's short",
            "  form that is a common word in jieba's dictionary (山河, 建筑, 南部) or that a common word",
            "  runs across (家地 in 国家地震) is not a place, a short form shared by a city and a town",
            "  (重庆) is the city, and 北京时间 is no place. Such false towns had split one incident's",
            "  reports (two reports of the 汶川 quake named 重庆街道 and 桂林街道 of 长春, from 重庆, 桂林).",
            "  An incident abroad is keyed by the foreign place named (印尼 + 地震), not by the reporter,",
            "  each place by one name (印尼 and 印度尼西亚, 山东 and 山东省 are one key).",
            "- A felt report (震感) from afar joins the quake reported within the day: reports of the",
            "  汶川 quake from 山西 and 重庆 name only their own province and cities, which the quake's",
            "  reports list among those that felt it (½ a vote, with the hazard 1½: too few to join).",
            "  It must name no county of its own provinces (an epicentre of its own: 渑池 3.5 级, 洛阳有",
            "  震感), and joins the day's quake sharing most of its places, else the most reported.",
            "  Only quakes: a day's fires or crashes in one province are many incidents (tested).",
            "  (With one name per place, this rule took recall from 0.507 to 0.740, 2026-12-02.)",
            "- A join resting on a shared county, city or country and the same hazard, with no town and",
            "  no wording in common, holds within a day and not across two districts of the area: two",
            "  广州 fires days or districts apart had been one event. Measured before and after the rule",
            "  (2026-12-02): precision 1.000, recall 0.740 both (`python -m yuqing.analysis.eval_events`).",
            "- Stored events are merged when a later report shows them one incident: after each",
            "  item, the events sharing enough places and the hazard with its event (or a felt report's",
            "  event and a quake's) are tried, the newest items of each against the other under the",
            "  rule above, each at its own time (the day and window limits count from the item to the",
            "  other event's nearest report); a group goes into its oldest event (`Grouper.merges`).",
            "  Stricter than a new report's join: only originals are tried (a copy joined by folding),",
            "  one event's hazards must include the other's, a felt report already in a quake stays,",
            "  and a shared area with the hazard alone merges only where the area is known by division",
            "  code (a foreign place named in passing, 美国 for its survey's magnitude, had merged quakes",
            "  a sea apart on `bench/bench_decisions.py`'s feed, whose whole corpus falls within days).",
            "  A felt report filed before its quake, or an early report naming the county only, joins",
            "  the quake's or the main report's event once that event is reported enough to take it.",
            "  Two incidents in one county on one day stay apart (another town or hazard: tested).",
            "  In production the newer event is merged into the older (`analysis/merging.py`):",
            "  items and referrals move, its alert is resolved and its ticket closed 「已并入事件 #N」.",
            "- Left split: incidents out of the remit's hazards (昆明 2014 attack, 新加坡 food",
            "  poisoning, 兰州 water, 上海 smog) have no hazard kind to add to the one place they share.",
            "- The felt-report rule was written from reading the pairs this set missed (no held-out",
            "  split; it has no tuned figure): its gain is measured on the articles that suggested it.",
            "",
        ]
    lines += _honestly(e, bool(r.get("resumed")), bool(r.get("events", {}).get("before")))
    lines += _tried()
    if r.get("resumed"):
        lines += _resumed()
    path.write_text("\n".join(lines), encoding="utf-8")


def _by_minute(ev: dict) -> list[str]:
    """The figures with the reports in the order of their minutes (`--by-minute`)."""
    m = ev.get("by_minute")
    if not m:
        return []
    before = f" (before: recall {_pct(m['before_recall'])})" if m.get("before_recall") is not None else ""
    return ["- In the order of the reports' minutes (`python -m yuqing.analysis.eval_events --by-minute`):",
            f"  precision {_pct(m['precision'])}, recall {_pct(m['recall'])}{before}. The order of days",
            "  above puts one day's articles in the corpus's order; by the minute, the 汶川 felt reports",
            "  from 内蒙古, 成都, 重庆 and 山西 (16:00–16:16) come before any report of the quake they",
            "  could join and each start an event: merging stored events joins them once the quake is",
            "  reported (the before figure is without merging)."]


def _honestly(e: dict, resumed: bool = False, regrouped: bool = False) -> list[str]:
    """What the figures above mean against the targets and the baseline, said plainly."""
    targets = {"headline": 0.93, "weibo": 0.80, "article": 0.90, "message": 0.60}
    below_base = [g["genre"] for g in e["genres"] if g.get("char_f1") is not None and g["f1"] <= g["char_f1"]]
    missed = [f"{g['genre']} ({g['f1']:.3f} against {targets[g['genre']]:.2f})" for g in e["genres"]
              if g["f1"] < targets[g["genre"]]]
    return [
        "## This release, honestly",
        *([] if resumed else [
            "- Every figure above comes from one full `yuqing model train` run; `analysis/models/figures.json`",
            "  holds them, and the card is rendered from it.",
            *(["  The events figures were measured again on the same models after the grouping",
               "  changed (`python -m yuqing.analysis.eval_events`)."] if regrouped else [])]),
        "- Shipped pipeline against the char TF-IDF baseline: "
        + ("above it on every genre." if not below_base else f"**not above it on {', '.join(below_base)}**."),
        "- Targets not met: " + ("none." if not missed else "; ".join(missed) + "."),
        "- Risk labels: most keep the coded rule's label unread, so the risk AUC partly measures how",
        "  well the model relearns that rule. The rumour \"out of distribution\" splits (by period, by",
        "  topic) are within CED: the corpora hold no other rumour labels (the COVID set has emotion",
        "  labels only), so a rumour of another platform or style is not measured.",
        "",
    ]


def _resumed() -> list[str]:
    return [
        "- This run's provenance: the full `yuqing model train` of 2026.4 fitted and saved the remit",
        "  (linear SVM, C 0.5 chosen on the folds, CV F1 0.872), emotion and rumour models, then stopped",
        "  at the risk step (the profile file gained fields under the running process). Risk and events",
        "  were run on the saved models; the remit figures come from the out-of-fold predictions of the",
        "  same learner on the same folds (a side run); emotion, rumour and the char TF-IDF baseline are",
        "  the same code on the same data as 2026.3 (emotion and rumour weights byte-identical), so",
        "  their figures are carried over. The next full run reproduces all of them.",
        "",
    ]


def _tried() -> list[str]:
    """Headline learners tried in side runs (not figures of this run): what did not reach 0.93."""
    return [
        "- Tried for headlines in side runs of 2026.4 (same folds, thresholds out of fold; not figures",
        "  of this run): logistic regression on the same features 0.803, with headline rows weighted",
        "  ×2 0.803, with genre-specific copies of the features 0.789, blended with the word model",
        "  0.787-0.805, linear SVM C 0.5/1/2 0.830/0.822/0.822.",
        "- Tried in side runs of 2026.5 (the training run's folds; headline F1 of the model alone, the",
        "  threshold chosen on the other folds' headlines; the shipped learner gives 0.817 so): trained",
        "  on headlines only 0.788, headline rows weighted ×3 0.729, SVM calibrated (sigmoid, 3-fold)",
        "  0.758. Calibration cannot help in principle (a monotone map, thresholds chosen after it) and",
        "  lost by its inner folds' noise; the usage cues are already features. None is shipped.",
        "- The issue's baseline on our own held-out headlines (`python -m yuqing.analysis.eval_headlines`,",
        "  a side run on 2026.5's folds; not figures of this run): character TF-IDF + logistic regression",
        "  trained on the training folds' headlines alone, C 4/16/64: char 1-3-grams 0.758/0.768/0.783,",
        "  1-4-grams 0.748/0.763/0.766, against the shipped learner's 0.817 on the same rows (CEC titles",
        "  0.956 against the baseline's best 0.919; NLPCC headlines 0.606 against 0.545). The plain",
        "  baseline does not beat us on our split, so its 0.915 on the checkers' held-out headlines says",
        "  their rows or labels differ from ours (our NLPCC positives are 80 of 25,142, labelled by one",
        "  annotator); the headline gap is the NLPCC half. Blending the baseline into the shipped",
        "  learner (logit average, weight 0.3) 0.787; markers of casualties, of a hazard word and of",
        "  its kind as features 0.817/0.751/0.776 (every genre lower). None is shipped.",
        "- How far a split moves these figures (the shipped learner, model alone, folds drawn with",
        "  seeds 0/1/2): headline 0.817/0.810/0.790, Weibo 0.866/0.868/0.817, article",
        "  0.980/0.961/0.984, message 0.727/0.522/0.545 (11 positives). A gain of 0.01 on one split",
        "  is not a gain.",
        "- Headline labels, a second pass (not shipped): the 61-word candidate net leaves headline",
        "  incident reports that name no word of it (撞, 失控, 溃口, 险情 …) at 0 by rule; 468 such NLPCC",
        "  headlines read by the written rule gave 35 positives. Judged on the corrected labels on",
        "  2026.5's folds, training on them moved headline 0.790 → 0.794 (NLPCC 0.584 → 0.626),",
        "  Weibo 0.866 → 0.861; a full run on them (its own folds) gave headline 0.797 (model alone",
        "  0.783), Weibo 0.781, both below the char TF-IDF baseline of that run: no win, so the",
        "  labels and models stay those of this card.",
        "- The headline errors read (2026.5's folds, seed 0; the shipped learner alone, 0.817, its",
        "  out-of-fold predictions as in `python -m yuqing.analysis.eval_headlines`): 40 false",
        "  positives, 36 false negatives. Of the false positives about 20 are non-incident uses the",
        "  usage cues miss (transfer 地震, 盘点/合集 of crashes, insurance and 工伤 questions, stock and",
        "  car-buying tips, fiction, 段子), 4 terror or military blasts abroad (巴基斯坦, 阿尔及利亚, 土耳其,",
        "  昆明's attack) and about 10 real incidents labelled 0 by the net rule (洪灾, 失控, 溃口, 撞:",
        "  the second pass above, already tried). The false negatives are real incidents named by words",
        "  outside the net or rare in it (翻车, 追尾, 起火, 垮塌, 泥石流, 冰雹, 紧急转移, 抢通); one is a",
        "  label error the other way (nlpcc 27732, a military arsenal's blast: 0 by the rule). 451",
        "  headlines labelled 0 score above 0.2. No feature or label change was retrained in 2026.5.",
        "- Tried after 2026.5 (full `yuqing model train` runs, not shipped; kept on branch `judge3`):",
        "  a labelling pass by the written rule (nlpcc 27732 1 → 0, military; the net widened by 25",
        "  words the errors showed it misses, 失控, 溃口, 洪灾, 隐患, 撞, 险情 …, and every NLPCC headline",
        "  naming one read whatever its score: 195 rows, 41 positives). Shipped F1 headline 0.830 →",
        "  0.812, Weibo 0.855 → 0.767, article 0.984 → 0.964, message 0.727 → 0.636 (char baseline",
        "  headline 0.797 → 0.766). On the same folds (the new labels'), the shipped learner trained",
        "  on the old labels and on the new: Weibo 0.831 → 0.791, headline judged on the new labels",
        "  0.777 → 0.804. So the new collision positives (撞, 失控, 碾压) cost Weibo precision, beside",
        "  a fold draw worth about 0.035 on Weibo; Weibo would fall below its target and the baseline.",
        "- Tried, terror and military blast cues in the violence usage cue (爆炸袭击, 汽车炸弹, 军火库,",
        "  军事基地, 火炮 …; not bare 演习 or 士兵): the usage rule's precision 0.998 on 5403 rows. On",
        "  these labels and folds (a full run) headline 0.830 → 0.820, Weibo 0.855 → 0.851, article",
        "  0.984 → 0.980, message 0.727; on the widened labels 0.812 → 0.814, Weibo 0.767 → 0.784.",
        "  No gain here: not shipped.",
        "- Tried, word uni- and bigrams (jieba, TF-IDF, weight 0.5) beside the character TF-IDF, on",
        "  the widened labels (model alone): seed 0 headline 0.803 → 0.806, Weibo 0.774 → 0.839;",
        "  seed 1 headline 0.806 → 0.818, Weibo 0.863 → 0.823, article 0.984 → 0.964. The two",
        "  splits disagree: not shipped. The headline target stays unmet.",
        "",
    ]
