"""The demo shop's bilingual vocabulary: categories, brands (with the price tiers they sell in), attribute words.

Prices are CNY. ``price_range`` is the span from the cheapest budget item to the dearest luxury item of a category;
tiers split it geometrically. Brands list the tiers they sell in, so a few brands span tiers and a few are luxury only.
"""

from __future__ import annotations

from dataclasses import dataclass

TIERS: tuple[str, ...] = ("budget", "mid", "premium", "luxury")


@dataclass(frozen=True)
class Brand:
    en: str
    zh: str
    tiers: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    slug: str
    en: str
    zh: str
    price_range: tuple[float, float]
    nouns: tuple[tuple[str, str], ...]  # (en, zh) product nouns
    attributes: tuple[tuple[str, str], ...]  # (en, zh) attribute words
    uses: tuple[tuple[str, str], ...]  # (en, zh) "good for ..." phrases
    brands: tuple[Brand, ...]


def _b(en: str, zh: str, tiers: str) -> Brand:
    return Brand(en, zh, tuple(t for t in TIERS if t[0] in tiers))  # tiers given as letters: "bmpl"


CATEGORIES: tuple[Category, ...] = (
    Category("running-shoes", "Running Shoes", "跑步鞋", (129, 2299),
             (("running shoes", "跑步鞋"), ("trail running shoes", "越野跑鞋"), ("racing shoes", "竞速跑鞋")),
             (("lightweight", "轻便"), ("breathable", "透气"), ("cushioned", "缓震"), ("waterproof", "防水"),
              ("carbon-plate", "碳板"), ("wide-fit", "宽楦"), ("anti-slip", "防滑")),
             (("daily training", "日常训练"), ("marathons", "马拉松"), ("trail runs", "山地越野")),
             (_b("Nike", "耐克", "mp"), _b("Adidas", "阿迪达斯", "mp"), _b("Li-Ning", "李宁", "bm"),
              _b("Anta", "安踏", "bm"), _b("Asics", "亚瑟士", "mp"), _b("Hoka", "Hoka", "pl"))),
    Category("phone-accessories", "Phone Accessories", "手机配件", (19, 899),
             (("fast charger", "快充充电器"), ("power bank", "充电宝"), ("phone case", "手机壳"), ("USB-C cable", "数据线")),
             (("compact", "小巧"), ("fast-charging", "快充"), ("magnetic", "磁吸"), ("shockproof", "防摔"),
              ("braided", "编织"), ("high-capacity", "大容量")),
             (("commuting", "通勤"), ("travel", "出差旅行"), ("gaming", "游戏")),
             (_b("Anker", "安克", "bmp"), _b("Baseus", "倍思", "bm"), _b("Ugreen", "绿联", "bm"),
              _b("Belkin", "贝尔金", "mp"), _b("Apple", "苹果", "pl"))),
    Category("skincare", "Skincare", "护肤", (39, 3500),
             (("moisturizing cream", "保湿面霜"), ("serum", "精华液"), ("sunscreen", "防晒霜"), ("face cleanser", "洁面乳")),
             (("hydrating", "补水"), ("gentle", "温和"), ("anti-aging", "抗老"), ("brightening", "提亮"),
              ("fragrance-free", "无香"), ("oil-control", "控油")),
             (("dry skin", "干皮"), ("sensitive skin", "敏感肌"), ("daily care", "日常护理")),
             (_b("Pechoin", "百雀羚", "b"), _b("Proya", "珀莱雅", "bm"), _b("L'Oréal", "欧莱雅", "m"),
              _b("Estée Lauder", "雅诗兰黛", "p"), _b("Lancôme", "兰蔻", "pl"), _b("La Mer", "海蓝之谜", "l"))),
    Category("coffee", "Coffee", "咖啡", (29, 899),
             (("coffee beans", "咖啡豆"), ("instant coffee", "速溶咖啡"), ("drip coffee bags", "挂耳咖啡"), ("cold brew", "冷萃咖啡")),
             (("dark roast", "深烘"), ("medium roast", "中烘"), ("single-origin", "单一产地"), ("arabica", "阿拉比卡"),
              ("low-acid", "低酸"), ("freeze-dried", "冻干")),
             (("office mornings", "办公室提神"), ("pour-over", "手冲"), ("espresso", "意式浓缩")),
             (_b("Nescafé", "雀巢", "b"), _b("Saturnbird", "三顿半", "bm"), _b("Luckin", "瑞幸", "b"),
              _b("Starbucks", "星巴克", "m"), _b("illy", "illy", "p"), _b("Blue Bottle", "蓝瓶", "pl"))),
    Category("headphones", "Headphones", "耳机", (99, 6999),
             (("wireless earbuds", "无线耳机"), ("over-ear headphones", "头戴式耳机"), ("sports earphones", "运动耳机")),
             (("noise-cancelling", "降噪"), ("bluetooth", "蓝牙"), ("long-battery", "长续航"), ("hi-fi", "高保真"),
              ("waterproof", "防水"), ("low-latency", "低延迟")),
             (("commuting", "通勤"), ("workouts", "运动健身"), ("music lovers", "音乐发烧")),
             (_b("Xiaomi", "小米", "b"), _b("Edifier", "漫步者", "bm"), _b("Huawei", "华为", "mp"),
              _b("Sony", "索尼", "mpl"), _b("Bose", "Bose", "p"), _b("Bang & Olufsen", "铂傲", "l"))),
    Category("laptops", "Laptops", "笔记本电脑", (2999, 29999),
             (("laptop", "笔记本电脑"), ("ultrabook", "轻薄本"), ("gaming laptop", "游戏本")),
             (("thin and light", "轻薄"), ("high-performance", "高性能"), ("long battery life", "长续航"),
              ("2.8K OLED", "2.8K OLED屏"), ("32GB RAM", "32GB内存"), ("quiet", "静音")),
             (("office work", "办公"), ("students", "学生学习"), ("video editing", "视频剪辑")),
             (_b("Lenovo", "联想", "bmp"), _b("Huawei", "华为", "mp"), _b("Xiaomi", "小米", "bm"),
              _b("Dell", "戴尔", "mp"), _b("ASUS", "华硕", "bmp"), _b("Apple", "苹果", "pl"))),
    Category("kitchen", "Kitchen Appliances", "厨房电器", (99, 12999),
             (("rice cooker", "电饭煲"), ("air fryer", "空气炸锅"), ("blender", "破壁机"), ("stand mixer", "厨师机")),
             (("smart", "智能"), ("large-capacity", "大容量"), ("non-stick", "不粘"), ("quiet", "低噪"),
              ("easy-clean", "易清洗"), ("energy-saving", "节能")),
             (("family meals", "家庭做饭"), ("baking", "烘焙"), ("healthy cooking", "健康轻食")),
             (_b("Midea", "美的", "bm"), _b("Joyoung", "九阳", "bm"), _b("Supor", "苏泊尔", "bm"),
              _b("Philips", "飞利浦", "mp"), _b("KitchenAid", "凯膳怡", "pl"), _b("Thermomix", "美善品", "l"))),
    Category("toys", "Toys", "玩具", (29, 4999),
             (("building set", "积木"), ("blind box figure", "盲盒手办"), ("remote-control car", "遥控车"), ("puzzle", "拼图")),
             (("educational", "益智"), ("collectible", "收藏级"), ("kid-safe", "儿童安全"), ("creative", "创意"),
              ("limited-edition", "限量版")),
             (("kids aged 6+", "6岁以上儿童"), ("gifts", "送礼"), ("collectors", "收藏")),
             (_b("Pop Mart", "泡泡玛特", "bm"), _b("Keeppley", "启蒙", "b"), _b("Bandai", "万代", "mp"),
              _b("Hasbro", "孩之宝", "bm"), _b("LEGO", "乐高", "mpl"))),
    Category("books", "Books", "图书", (19, 1299),
             (("novel", "小说"), ("history book", "历史读物"), ("programming guide", "编程指南"), ("picture book", "绘本")),
             (("bestselling", "畅销"), ("hardcover", "精装"), ("illustrated", "插图版"), ("annotated", "注释版"),
              ("collector's", "典藏")),
             (("bedtime reading", "睡前阅读"), ("self-study", "自学"), ("gifts", "送礼")),
             (_b("CITIC Press", "中信出版社", "bm"), _b("People's Literature", "人民文学出版社", "bm"),
              _b("Penguin", "企鹅", "m"), _b("O'Reilly", "O'Reilly", "mp"), _b("Folio Society", "Folio Society", "l"))),
    Category("watches", "Watches", "手表", (199, 89999),
             (("watch", "手表"), ("smartwatch", "智能手表"), ("diver watch", "潜水表"), ("dress watch", "正装表")),
             (("automatic", "自动机械"), ("sapphire crystal", "蓝宝石镜面"), ("water-resistant", "防水"),
              ("solar", "光动能"), ("titanium", "钛合金"), ("GPS", "GPS定位")),
             (("business", "商务"), ("sports", "运动"), ("everyday wear", "日常佩戴")),
             (_b("Casio", "卡西欧", "bm"), _b("Huawei", "华为", "mp"), _b("Seiko", "精工", "mp"),
              _b("Tissot", "天梭", "p"), _b("Omega", "欧米茄", "l"), _b("Rolex", "劳力士", "l"))),
    Category("smartphones", "Smartphones", "手机", (799, 13999),
             (("smartphone", "智能手机"), ("5G phone", "5G手机"), ("foldable phone", "折叠屏手机")),
             (("5G", "5G"), ("long battery life", "长续航"), ("flagship camera", "旗舰影像"), ("fast-charging", "快充"),
              ("high refresh rate", "高刷屏"), ("slim", "轻薄")),
             (("photography", "拍照"), ("mobile gaming", "手游"), ("seniors", "长辈使用")),
             (_b("Redmi", "红米", "b"), _b("Xiaomi", "小米", "mp"), _b("Honor", "荣耀", "bm"),
              _b("OPPO", "OPPO", "mp"), _b("vivo", "vivo", "mp"), _b("Huawei", "华为", "pl"), _b("Apple", "苹果", "pl"))),
    Category("tea", "Tea", "茶叶", (39, 3999),
             (("green tea", "绿茶"), ("oolong tea", "乌龙茶"), ("pu'er tea", "普洱茶"), ("black tea", "红茶")),
             (("spring-harvest", "明前"), ("aged", "陈年"), ("hand-picked", "手工采摘"), ("gift-boxed", "礼盒装"),
              ("organic", "有机")),
             (("daily drinking", "日常口粮"), ("gifts", "送礼"), ("tea ceremonies", "茶道")),
             (_b("Bama Tea", "八马", "bm"), _b("Tenfu", "天福", "bm"), _b("Dayi", "大益", "mp"),
              _b("Xiaoguan Tea", "小罐茶", "pl"))),
    Category("cameras", "Cameras", "相机", (999, 49999),
             (("mirrorless camera", "微单相机"), ("action camera", "运动相机"), ("drone", "无人机"), ("lens", "镜头")),
             (("full-frame", "全画幅"), ("4K video", "4K视频"), ("image-stabilized", "防抖"), ("compact", "便携"),
              ("weather-sealed", "防尘防水")),
             (("travel photos", "旅行拍摄"), ("vlogging", "Vlog"), ("professional shoots", "专业摄影")),
             (_b("DJI", "大疆", "bmp"), _b("Canon", "佳能", "mp"), _b("Nikon", "尼康", "mp"),
              _b("Sony", "索尼", "mpl"), _b("Fujifilm", "富士", "mp"), _b("Leica", "徕卡", "l"))),
    Category("handbags", "Bags & Luggage", "箱包", (99, 29999),
             (("backpack", "双肩包"), ("handbag", "手提包"), ("suitcase", "行李箱"), ("crossbody bag", "斜挎包")),
             (("leather", "真皮"), ("water-repellent", "防泼水"), ("lightweight", "轻便"), ("large-capacity", "大容量"),
              ("classic", "经典款")),
             (("business trips", "商务出差"), ("commuting", "通勤"), ("weekend getaways", "周末出游")),
             (_b("Xiaomi", "小米", "b"), _b("Samsonite", "新秀丽", "mp"), _b("Coach", "蔻驰", "p"),
              _b("Longchamp", "珑骧", "p"), _b("Gucci", "古驰", "l"), _b("Louis Vuitton", "路易威登", "l"))),
    Category("makeup", "Makeup", "彩妆", (29, 1299),
             (("lipstick", "口红"), ("foundation", "粉底液"), ("eyeshadow palette", "眼影盘"), ("setting powder", "散粉")),
             (("long-lasting", "持久"), ("matte", "哑光"), ("moisturizing", "滋润"), ("waterproof", "防水"),
              ("natural-finish", "自然妆感")),
             (("everyday makeup", "日常妆"), ("parties", "派对"), ("gifts", "送礼")),
             (_b("Perfect Diary", "完美日记", "b"), _b("Maybelline", "美宝莲", "b"), _b("Florasis", "花西子", "m"),
              _b("MAC", "魅可", "mp"), _b("YSL Beauty", "圣罗兰", "pl"), _b("Chanel", "香奈儿", "l"))),
    Category("cleaning-appliances", "Cleaning Appliances", "清洁电器", (199, 7999),
             (("robot vacuum", "扫地机器人"), ("cordless vacuum", "无线吸尘器"), ("wet-dry cleaner", "洗地机")),
             (("self-emptying", "自动集尘"), ("strong suction", "大吸力"), ("quiet", "静音"), ("smart mapping", "智能建图"),
              ("pet-hair", "除宠物毛")),
             (("homes with pets", "有宠家庭"), ("large apartments", "大户型"), ("daily cleaning", "日常清洁")),
             (_b("Xiaomi", "小米", "bm"), _b("Ecovacs", "科沃斯", "mp"), _b("Roborock", "石头", "mp"),
              _b("Dreame", "追觅", "mp"), _b("Dyson", "戴森", "pl"))),
    Category("outdoor", "Outdoor Gear", "户外装备", (49, 8999),
             (("hiking jacket", "冲锋衣"), ("tent", "帐篷"), ("hiking boots", "登山鞋"), ("sleeping bag", "睡袋")),
             (("waterproof", "防水"), ("windproof", "防风"), ("ultralight", "超轻"), ("warm", "保暖"),
              ("breathable", "透气"), ("packable", "可收纳")),
             (("hiking", "徒步"), ("camping", "露营"), ("mountaineering", "登山")),
             (_b("Decathlon", "迪卡侬", "b"), _b("Naturehike", "挪客", "bm"), _b("Kailas", "凯乐石", "mp"),
              _b("The North Face", "北面", "p"), _b("Arc'teryx", "始祖鸟", "l"))),
    Category("baby", "Mother & Baby", "母婴", (49, 9999),
             (("diapers", "纸尿裤"), ("infant formula", "婴儿奶粉"), ("stroller", "婴儿推车"), ("baby wipes", "湿巾")),
             (("ultra-thin", "超薄"), ("hypoallergenic", "低敏"), ("breathable", "透气"), ("foldable", "可折叠"),
              ("organic", "有机")),
             (("newborns", "新生儿"), ("toddlers", "幼儿"), ("travel with kids", "带娃出行")),
             (_b("Babycare", "Babycare", "bm"), _b("Pampers", "帮宝适", "bm"), _b("Huggies", "好奇", "bm"),
              _b("Aptamil", "爱他美", "p"), _b("a2", "a2", "p"), _b("Stokke", "思多嘉儿", "l"))),
    Category("snacks", "Snacks", "零食", (9, 899),
             (("mixed nuts", "每日坚果"), ("chocolate", "巧克力"), ("beef jerky", "牛肉干"), ("cookies", "饼干")),
             (("low-sugar", "低糖"), ("crunchy", "香脆"), ("family-size", "家庭装"), ("gift-boxed", "礼盒装"),
              ("high-protein", "高蛋白")),
             (("office snacking", "办公室零食"), ("holidays", "节日送礼"), ("road trips", "出游")),
             (_b("Three Squirrels", "三只松鼠", "b"), _b("Bestore", "良品铺子", "bm"), _b("Oreo", "奥利奥", "b"),
              _b("Lindt", "瑞士莲", "mp"), _b("Godiva", "歌帝梵", "pl"))),
    Category("wine-spirits", "Wine & Spirits", "酒水", (49, 4999),
             (("red wine", "红酒"), ("baijiu", "白酒"), ("whisky", "威士忌"), ("champagne", "香槟")),
             (("aged", "陈酿"), ("full-bodied", "醇厚"), ("dry", "干型"), ("gift-boxed", "礼盒装"), ("vintage", "年份")),
             (("dinners", "宴请"), ("gifts", "送礼"), ("collecting", "收藏")),
             (_b("Great Wall", "长城", "b"), _b("Changyu", "张裕", "bm"), _b("Penfolds", "奔富", "mp"),
              _b("Wuliangye", "五粮液", "pl"), _b("Moutai", "茅台", "l"))),
    Category("fitness", "Fitness Equipment", "健身器材", (29, 29999),
             (("yoga mat", "瑜伽垫"), ("dumbbells", "哑铃"), ("exercise bike", "动感单车"), ("treadmill", "跑步机")),
             (("non-slip", "防滑"), ("adjustable", "可调节"), ("foldable", "可折叠"), ("quiet", "静音"), ("smart", "智能")),
             (("home workouts", "居家健身"), ("weight loss", "减脂"), ("strength training", "力量训练")),
             (_b("Keep", "Keep", "bm"), _b("Decathlon", "迪卡侬", "b"), _b("Xiaomi", "小米", "bm"),
              _b("Yesoul", "野小兽", "mp"), _b("Technogym", "泰诺健", "l"))),
    Category("furniture", "Furniture", "家具", (99, 39999),
             (("office chair", "办公椅"), ("sofa", "沙发"), ("bookshelf", "书架"), ("standing desk", "升降桌")),
             (("ergonomic", "人体工学"), ("solid wood", "实木"), ("modular", "模块化"), ("easy-assembly", "易安装"),
              ("Nordic-style", "北欧风")),
             (("home offices", "居家办公"), ("small apartments", "小户型"), ("living rooms", "客厅")),
             (_b("IKEA", "宜家", "bm"), _b("Lin's Wood", "林氏家居", "bm"), _b("Kuka", "顾家家居", "mp"),
              _b("Herman Miller", "赫曼米勒", "l"), _b("Natuzzi", "纳图兹", "l"))),
    Category("gaming", "Gaming", "游戏装备", (99, 8999),
             (("game console", "游戏主机"), ("gaming mouse", "游戏鼠标"), ("mechanical keyboard", "机械键盘"), ("controller", "游戏手柄")),
             (("wireless", "无线"), ("RGB", "RGB灯效"), ("low-latency", "低延迟"), ("ergonomic", "人体工学"),
              ("hot-swappable", "热插拔")),
             (("esports", "电竞"), ("couch gaming", "客厅娱乐"), ("streamers", "主播")),
             (_b("Logitech", "罗技", "bm"), _b("Razer", "雷蛇", "mp"), _b("Nintendo", "任天堂", "mp"),
              _b("PlayStation", "PlayStation", "p"), _b("Xbox", "Xbox", "p"), _b("ROG", "玩家国度", "pl"))),
    Category("pet-supplies", "Pet Supplies", "宠物用品", (19, 2999),
             (("cat food", "猫粮"), ("dog food", "狗粮"), ("cat litter", "猫砂"), ("automatic feeder", "自动喂食器")),
             (("grain-free", "无谷"), ("high-protein", "高蛋白"), ("clumping", "结团"), ("smart", "智能"),
              ("odor-control", "除臭")),
             (("kittens", "幼猫"), ("adult dogs", "成犬"), ("multi-pet homes", "多宠家庭")),
             (_b("Myfoodie", "麦富迪", "b"), _b("Royal Canin", "皇家", "mp"), _b("Petkit", "小佩", "mp"),
              _b("Orijen", "渴望", "pl"))),
    Category("fragrance", "Fragrance", "香水", (99, 3999),
             (("eau de parfum", "香水"), ("eau de toilette", "淡香水"), ("scented candle", "香薰蜡烛")),
             (("floral", "花香调"), ("woody", "木质调"), ("fresh", "清新"), ("long-lasting", "持久留香"), ("niche", "小众")),
             (("dates", "约会"), ("office wear", "通勤"), ("gifts", "送礼")),
             (_b("Zara", "Zara", "b"), _b("Jo Malone", "祖玛珑", "p"), _b("Dior", "迪奥", "pl"),
              _b("Chanel", "香奈儿", "pl"), _b("Le Labo", "Le Labo", "l"))),
)

CATEGORY_BY_SLUG = {c.slug: c for c in CATEGORIES}

# --- review phrases by sentiment; {noun} and {attr} are filled from the product ---
REVIEW_POSITIVE_EN = (
    "Really happy with this {noun}, {attr} as described.",
    "Great quality, arrived fast. The {attr} design is excellent.",
    "Worth every yuan. Would buy this {noun} again.",
    "Exactly what I needed, very {attr}.",
)
REVIEW_POSITIVE_ZH = (
    "这款{noun}非常满意，{attr}效果和描述一致。",
    "质量很好，物流很快，{attr}设计很赞。",
    "物超所值，会回购这款{noun}。",
    "正是我需要的，非常{attr}。",
)
REVIEW_NEUTRAL_EN = (
    "The {noun} is okay for the price, nothing special.",
    "Decent, but not as {attr} as I expected.",
)
REVIEW_NEUTRAL_ZH = (
    "这款{noun}性价比一般，中规中矩。",
    "还可以，但没有想象中那么{attr}。",
)
REVIEW_NEGATIVE_EN = (
    "Disappointed: the {noun} broke after two weeks. Asked for a refund.",
    "Not {attr} at all, and customer service was slow to reply.",
    "Arrived damaged and late. Would not recommend.",
)
REVIEW_NEGATIVE_ZH = (
    "很失望，这款{noun}用了两周就坏了，已申请退款。",
    "一点都不{attr}，客服回复也很慢。",
    "收到时包装破损还迟到了，不推荐。",
)

# --- PII name parts ---
ZH_SURNAMES = (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
               ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
               ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"), ("马", "ma"),
               ("罗", "luo"))
ZH_GIVEN = (("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"),
            ("磊", "lei"), ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("军", "jun"), ("杰", "jie"), ("娟", "juan"),
            ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("霞", "xia"), ("平", "ping"),
            ("刚", "gang"), ("桂英", "guiying"), ("子涵", "zihan"), ("浩然", "haoran"), ("欣怡", "xinyi"),
            ("宇轩", "yuxuan"), ("梓萱", "zixuan"), ("思远", "siyuan"))
EN_FIRST = ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
            "William", "Susan", "Daniel", "Sarah", "Thomas", "Emily", "Oliver", "Sophie", "Lucas", "Hannah",
            "Ethan", "Chloe", "Noah", "Grace")
EN_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
           "Thomas", "Moore", "Martin", "Clark", "Walker", "Young", "King", "Wright", "Scott", "Green")
EMAIL_DOMAINS_ZH = ("163.com", "qq.com", "126.com", "sina.com", "foxmail.com")
EMAIL_DOMAINS_EN = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me")
# (city_en, city_zh, districts_zh, streets_zh)
CITIES = (
    ("Shanghai", "上海", ("浦东新区", "徐汇区", "静安区", "黄浦区"), ("张杨路", "淮海中路", "南京西路", "世纪大道")),
    ("Beijing", "北京", ("朝阳区", "海淀区", "东城区", "西城区"), ("建国路", "中关村大街", "长安街", "三里屯路")),
    ("Shenzhen", "深圳", ("南山区", "福田区", "罗湖区"), ("深南大道", "科技园路", "华强北路")),
    ("Guangzhou", "广州", ("天河区", "越秀区", "海珠区"), ("天河路", "北京路", "江南大道")),
    ("Hangzhou", "杭州", ("西湖区", "滨江区", "上城区"), ("文三路", "江南大道", "延安路")),
    ("Chengdu", "成都", ("锦江区", "武侯区", "高新区"), ("春熙路", "人民南路", "天府大道")),
    ("Nanjing", "南京", ("鼓楼区", "玄武区"), ("中山路", "北京东路")),
    ("Wuhan", "武汉", ("武昌区", "江汉区"), ("中南路", "解放大道")),
)
EN_STREETS = ("Maple Street", "Oak Avenue", "Riverside Road", "Park Lane", "Harbour View", "Hill Road")
