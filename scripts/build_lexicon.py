"""Write vectorstore/lexicon_zh_en.json: the zh<->en shopping lexicon the cross-language keyword arm ships with.

Sources: general shopping words (below), and the bilingual vocabulary of domain/demo/categories.json (category
names, product nouns, attributes, uses and brand names, which a real shop's catalog shares with any store of
the same kind). Re-run after editing either: ``python scripts/build_lexicon.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERAL: tuple[tuple[str, str], ...] = (
    ("便宜", "cheap"),
    ("实惠", "affordable"),
    ("贵", "expensive"),
    ("高端", "premium"),
    ("礼物", "gift"),
    ("送礼", "gift"),
    ("礼盒", "gift box"),
    ("推荐", "recommend"),
    ("新款", "new"),
    ("正品", "genuine"),
    ("男士", "men"),
    ("女士", "women"),
    ("儿童", "kids"),
    ("婴儿", "baby"),
    ("鞋", "shoes"),
    ("跑鞋", "running shoes"),
    ("手机", "phone"),
    ("配件", "accessories"),
    ("电脑", "computer"),
    ("笔记本", "laptop"),
    ("耳机", "headphones"),
    ("相机", "camera"),
    ("手表", "watch"),
    ("茶", "tea"),
    ("咖啡", "coffee"),
    ("酒", "wine"),
    ("包", "bag"),
    ("衣服", "clothes"),
    ("外套", "jacket"),
    ("裤子", "pants"),
    ("裙子", "dress"),
    ("帽子", "hat"),
    ("袜子", "socks"),
    ("电视", "tv"),
    ("冰箱", "refrigerator"),
    ("洗衣机", "washing machine"),
    ("空调", "air conditioner"),
    ("平板", "tablet"),
    ("键盘", "keyboard"),
    ("鼠标", "mouse"),
    ("显示器", "monitor"),
    ("充电器", "charger"),
    ("数据线", "cable"),
    ("手机壳", "phone case"),
    ("音箱", "speaker"),
    ("玩具", "toys"),
    ("书", "book"),
    ("化妆品", "cosmetics"),
    ("护肤", "skincare"),
    ("面膜", "face mask"),
    ("洗发水", "shampoo"),
    ("牙膏", "toothpaste"),
    ("零食", "snacks"),
    ("水果", "fruit"),
    ("运动", "sports"),
    ("跑步", "running"),
    ("健身", "fitness"),
    ("户外", "outdoor"),
    ("露营", "camping"),
    ("厨房", "kitchen"),
    ("锅", "pot"),
    ("刀", "knife"),
    ("杯子", "cup"),
    ("床", "bed"),
    ("椅子", "chair"),
    ("桌子", "desk"),
    ("灯", "lamp"),
    ("宠物", "pet"),
    ("狗", "dog"),
    ("猫", "cat"),
    ("无线", "wireless"),
    ("蓝牙", "bluetooth"),
    ("防水", "waterproof"),
    ("大容量", "large capacity"),
    ("快充", "fast charging"),
    ("高清", "hd"),
    ("智能", "smart"),
    ("便携", "portable"),
    ("价格", "price"),
    ("多少钱", "price"),
    ("电池", "battery"),
    ("充电", "charging"),
    ("屏幕", "screen"),
    ("游戏", "gaming"),
    ("办公", "office"),
    ("家用", "home"),
    ("旅行", "travel"),
    ("背包", "backpack"),
    ("眼镜", "glasses"),
)


def main() -> None:
    categories = json.loads((ROOT / "domain" / "demo" / "categories.json").read_text(encoding="utf-8"))
    pairs: dict[tuple[str, str], None] = dict.fromkeys(GENERAL)
    for c in categories:
        pairs[(c["zh"], c["en"].lower())] = None
        for group in ("nouns", "attributes", "uses"):
            for en, zh in c[group]:
                pairs[(zh, en.lower())] = None
        for en, zh, _tiers in c["brands"]:
            if en.lower() != zh.lower():
                pairs[(zh, en.lower())] = None
    out = ROOT / "vectorstore" / "lexicon_zh_en.json"
    rows = ",\n".join(json.dumps(list(p), ensure_ascii=False) for p in pairs)
    out.write_text(f'{{"source": "scripts/build_lexicon.py", "pairs": [\n{rows}\n]}}\n', encoding="utf-8")
    print(f"{len(pairs)} pairs -> {out}")


if __name__ == "__main__":
    main()
