"""The model card (模型说明): data, labelling rules, cross-validated figures, per genre."""

from __future__ import annotations

from pathlib import Path


def _pct(x: float) -> str:
    return f"{x:.3f}"


def write_card(path: Path, r: dict) -> None:
    e, emo, rum = r["emergency"], r["emotion"], r["rumor"]
    lines = [
        "# 模型说明 (model card): yuqing analysis models",
        "",
        f"Version `{r['version']}`. Reproduce with `yuqing model train --corpora {r['root']}`",
        "(5-fold StratifiedGroupKFold, seed 0, identical texts kept in one fold; logistic regression",
        "over hashed jieba word unigrams+bigrams, 2^18 buckets; C and the decision threshold chosen",
        "on the out-of-fold predictions). Weights ship in `analysis/models/*.npz`; no corpus text ships.",
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
        f"- rows {e['n']}, positives {e['positives']}; C={e['C']}, threshold **{e['threshold']}**",
        f"- cross-validated **F1 {_pct(e['f1'])}** (precision {_pct(e['precision'])}, recall "
        f"{_pct(e['recall'])}, ROC AUC {_pct(e['auc'])})",
        f"- plain keyword list (the profile's remit keywords, any match) on the same data: "
        f"**F1 {_pct(e['keyword_f1'])}** (precision {_pct(e['keyword_precision'])}, recall "
        f"{_pct(e['keyword_recall'])})",
        "",
        "| genre | rows | positives | model F1 | precision | recall | keyword F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in e["genres"]:
        lines.append(f"| {g['genre']} | {g['n']} | {g['positives']} | {_pct(g['f1'])} | "
                     f"{_pct(g['precision'])} | {_pct(g['recall'])} | {_pct(g['keyword_f1'])} |")
    lines += [
        "",
        "Genres: headline = NLPCC headlines and CEC titles; weibo = CED posts and emotion-set posts;",
        "article = CEC report text (first 600 characters); message = citizen messages.",
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
        f"**F1 {_pct(rum['f1'])}**, ROC AUC {_pct(rum['auc'])}",
        "",
        "## Limits",
        "- Labels for posts outside CEC come from one annotator (hand labels, documented rule);",
        "  the corpora are 2008-2020 and contain no local county news; expect drift.",
        "- The rumour model learns the topics of 2010-2014 Weibo rumours as much as their style;",
        "  its score is one piece of evidence, combined with cue words and the source tier.",
        "- At scoring time a rule floor (remit ≥ 0.60 when two remit topics, or casualties and a",
        "  remit word, appear without another bureau's word) lifts colloquial posts the model",
        "  under-rates; the figures above are the model alone.",
        "- Risk and level are rules over parsed casualties, accusations, mobilisation, reach and",
        "  the emotion model, graded by the national accident thresholds; they are not learned.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
