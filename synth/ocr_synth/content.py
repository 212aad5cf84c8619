"""Seeded text content for synthetic business documents (Chinese paperwork with some English).

Everything emitted is inside `CHARSET_HINT`, so the recognizer's charset can be checked against it.
Paragraph lines and person names mix in uniformly drawn GB2312 level-1 hanzi: realistic phrases alone
would leave most of the 3755 characters unseen, and the recognizer has to learn all of them.
"""

from __future__ import annotations

import string

import numpy as np

from ocr_synth import vocab

MAX_LINE_CHARS = 40


def _gb2312_level1() -> str:
    # rows 16-55 (lead bytes 0xB0-0xD7); the last row ends at 0xD7F9
    chars = []
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            if lead == 0xD7 and trail > 0xF9:
                break
            chars.append(bytes([lead, trail]).decode("gb2312"))
    return "".join(chars)


HANZI_LEVEL1 = _gb2312_level1()
ASCII_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
CHINESE_PUNCT = "，。：；！？（）《》、“”‘’【】—…·￥¥％"
CHARSET_HINT = ASCII_PRINTABLE + CHINESE_PUNCT + HANZI_LEVEL1

KINDS = (
    "heading", "kv", "paragraph", "amount", "date", "phone", "order_no", "invoice_item",
    "receipt_item", "address", "mixed", "english", "random_chars",
)  # fmt: skip
# how often each kind comes up when none is asked for: paragraphs and random characters carry the
# rare hanzi, so they get more weight
_KIND_WEIGHTS = np.array([1, 2, 3, 1, 1, 1, 1, 1.5, 1, 1, 1, 1, 1.5])
_KIND_P = _KIND_WEIGHTS / _KIND_WEIGHTS.sum()

_DIGITS_UPPER = "零壹贰叁肆伍陆柒捌玖"


def _group_in_words(n: int) -> str:
    """1..9999 in capital numerals, inner zeros collapsed to one 零 (1005 -> 壹仟零伍)."""
    out, zero, started = "", False, False
    for digit, unit in zip(
        (n // 1000, n // 100 % 10, n // 10 % 10, n % 10), ("仟", "佰", "拾", ""), strict=True
    ):
        if digit == 0:
            zero = zero or started
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS_UPPER[digit] + unit
        started = True
    return out


def amount_in_words(value: float) -> str:
    """Capital-numeral amount as written on Chinese invoices: 1234.5 -> 壹仟贰佰叁拾肆元伍角."""
    cents = round(value * 100)
    if cents < 0 or cents >= 10**14:
        raise ValueError(f"amount out of range: {value}")
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    out, pending_zero = "", False
    for group, suffix in ((yuan // 10**8, "亿"), (yuan // 10**4 % 10**4, "万"), (yuan % 10**4, "")):
        if group == 0:
            pending_zero = pending_zero or bool(out)
            continue
        if out and (pending_zero or group < 1000):
            out += "零"
        out += _group_in_words(group) + suffix
        pending_zero = False
    if yuan:
        out += "元"
    if jiao == 0 and fen == 0:
        return out + "整" if yuan else "零元整"
    if jiao:
        out += _DIGITS_UPPER[jiao] + "角"
    if fen:
        out += ("零" if yuan and not jiao else "") + _DIGITS_UPPER[fen] + "分"
    return out


def _clip(text: str, limit: int = MAX_LINE_CHARS) -> str:
    return " ".join(text.split())[:limit].strip()


class TextSource:
    """Draws one line of text of a given kind; all randomness comes from the generator passed in."""

    kinds: tuple[str, ...] = KINDS

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    # ---- small pieces, also used by the document layouts ----
    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def digits(self, n: int) -> str:
        return "".join(str(d) for d in self.rng.integers(0, 10, n))

    def hanzi(self, n: int) -> str:
        """n characters drawn uniformly from GB2312 level 1."""
        return "".join(HANZI_LEVEL1[i] for i in self.rng.integers(0, len(HANZI_LEVEL1), n))

    def person(self) -> str:
        return self.pick(vocab.SURNAMES) + self.hanzi(int(self.rng.integers(1, 3)))

    def company(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            brand = self.pick(vocab.BRAND_PARTS) + self.pick(vocab.BRAND_PARTS)
        elif r < 0.8:
            brand = self.hanzi(2)
        else:
            brand = self.pick(vocab.BRAND_PARTS) + self.hanzi(1)
        city = self.pick(vocab.CITIES) if self.rng.random() < 0.8 else ""
        return city + brand + self.pick(vocab.INDUSTRIES) + self.pick(vocab.COMPANY_SUFFIXES)

    def shop(self) -> str:
        return self.pick(vocab.BRAND_PARTS) + self.pick(vocab.BRAND_PARTS) + self.pick(vocab.SHOP_TYPES)

    def money(self, low: float = 1.0, high: float = 100000.0) -> float:
        value = float(np.exp(self.rng.uniform(np.log(low), np.log(high))))
        return round(value, 2 if self.rng.random() < 0.6 else 0)

    def amount(self, value: float | None = None) -> str:
        v = self.money() if value is None else value
        form = int(self.rng.integers(8))
        if form == 0:
            return f"¥{v:,.2f}"
        if form == 1:
            return f"￥{v:.2f}"
        if form == 2:
            return f"{v:.2f}元"
        if form == 3:
            return f"{v:,.2f}"
        if form == 4:
            return "人民币" + amount_in_words(v)
        if form == 5:
            return f"RMB {v:,.2f}"
        if form == 6:
            return amount_in_words(v)
        return f"{v:.2f}"

    def date(self) -> str:
        y, m, d = (
            int(self.rng.integers(2015, 2026)),
            int(self.rng.integers(1, 13)),
            int(self.rng.integers(1, 29)),
        )
        form = int(self.rng.integers(5))
        return (
            f"{y}年{m:02d}月{d:02d}日",
            f"{y}年{m}月{d}日",
            f"{y}-{m:02d}-{d:02d}",
            f"{y}/{m}/{d}",
            f"{y}.{m:02d}.{d:02d}",
        )[form]

    def phone(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            n = self.pick(("13", "15", "17", "18", "19")) + self.digits(9)
            return self.pick((f"{n[:3]} {n[3:7]} {n[7:]}", n, f"{n[:3]}-{n[3:7]}-{n[7:]}"))
        if r < 0.9:
            area = self.pick(
                ("010", "021", "020", "022", "023", "025", "027", "028", "029", "0755", "0571", "0512")
            )
            n = self.digits(8 if len(area) == 3 else int(self.rng.integers(7, 9)))
            return self.pick((f"{area}-{n}", f"({area}){n}", f"{area}-{n[:4]} {n[4:]}"))
        return f"400-{self.digits(3)}-{self.digits(4)}"

    def order_no(self) -> str:
        y, m, d = (
            int(self.rng.integers(2015, 2026)),
            int(self.rng.integers(1, 13)),
            int(self.rng.integers(1, 29)),
        )
        alnum = string.ascii_uppercase + string.digits
        code = "".join(alnum[i] for i in self.rng.integers(0, len(alnum), 6))
        form = int(self.rng.integers(6))
        return (
            f"PO{y}{m:02d}{d:02d}-{self.digits(4)}", f"SN-{code}", f"NO.{self.digits(8)}",
            f"DD{y}{m:02d}{d:02d}{self.digits(5)}", f"HT-{y}-{self.digits(4)}", f"INV-{self.digits(6)}",
        )[form]  # fmt: skip

    def address(self) -> str:
        city = self.pick(vocab.CITIES)
        prov = vocab.PROVINCE_OF.get(city, "") if self.rng.random() < 0.5 else ""
        number = int(self.rng.integers(1, 999))
        out = f"{prov}{city}市{self.pick(vocab.DISTRICTS)}{self.pick(vocab.ROADS)}{number}号"
        if self.rng.random() < 0.6:
            floor, room = int(self.rng.integers(1, 30)), int(self.rng.integers(1, 20))
            out += f"{self.pick(vocab.BRAND_PARTS)}{self.pick(vocab.BUILDINGS)}{floor}{room:02d}室"
        return out

    def item(self) -> str:
        return self.pick(vocab.ITEMS)

    def quantity(self) -> int:
        return int(self.rng.choice([1, 1, 2, 3, 5, 10, 12, 20, 50, 100, int(self.rng.integers(1, 1000))]))

    def key(self) -> str:
        return self.pick(vocab.KEYS)

    def value_for(self, key: str) -> str:
        """A plausible value for a form key (dates for 日期, money for 金额, and so on)."""
        if "日期" in key or key == "有效期":
            return self.date()
        if key in ("金额", "税额", "合计", "价税合计", "总计", "实收", "找零", "单价"):
            return self.amount()
        if key in ("电话", "手机", "传真"):
            return self.phone()
        if "地址" in key:
            return self.address()
        if key in ("订单号", "单号", "编号"):
            return self.order_no()
        if key in ("发票号码", "发票代码", "账号", "校验码", "纳税人识别号", "邮编"):
            n = {"发票号码": 8, "发票代码": 12, "账号": 19, "校验码": 20, "纳税人识别号": 18, "邮编": 6}[key]
            s = self.digits(n)
            if key == "纳税人识别号":
                s = s[:-2] + self.pick(tuple(string.ascii_uppercase)) + s[-1]
            if key == "校验码":
                s = " ".join(s[i : i + 5] for i in range(0, n, 5))
            return s
        if key in ("开户行",):
            return self.pick(vocab.BANKS) + self.pick(vocab.CITIES) + "分行"
        if key in ("购买方", "销售方", "名称", "客户名称", "供应商"):
            return self.company()
        if key == "税率":
            return self.pick(("13%", "9%", "6%", "3%", "1%", "免税"))
        if key == "付款方式":
            return self.pick(vocab.PAY_METHODS)
        if key in ("部门",):
            return self.pick(vocab.DEPARTMENTS)
        if key == "备注":
            return self.pick(vocab.REMARKS)
        if key == "数量":
            return f"{self.quantity()}{self.pick(vocab.UNITS)}"
        if key == "项目名称":
            return self.pick(vocab.TOPIC_WORDS) + "项目"
        if key == "仓库":
            return self.pick(vocab.CITIES) + self.pick(("一号", "二号", "三号", "中心")) + "仓"
        return self.person()

    def sentence(self) -> str:
        template = self.pick(vocab.SENTENCES)
        if self.rng.random() < 0.6:
            word = self.pick(vocab.TOPIC_WORDS)
        else:
            word = self.hanzi(int(self.rng.integers(2, 5)))
        return template.format(
            company=self.company(), item=self.item(), date=self.date(), name=self.person(),
            amount=self.amount(), city=self.pick(vocab.CITIES), department=self.pick(vocab.DEPARTMENTS),
            word=word,
        )  # fmt: skip

    def paragraph_text(self, min_chars: int) -> str:
        """Running text of at least min_chars, for layouts that wrap paragraphs themselves."""
        parts: list[str] = []
        total = 0
        while total < min_chars:
            s = self._spliced(self.sentence())
            parts.append(s)
            total += len(s)
        return "".join(parts)

    def _spliced(self, sentence: str) -> str:
        """Insert 1-3 runs of uniform random hanzi into a sentence, so every level-1 char turns up."""
        for _ in range(int(self.rng.integers(1, 4))):
            at = int(self.rng.integers(0, len(sentence)))
            sentence = sentence[:at] + self.hanzi(int(self.rng.integers(1, 5))) + sentence[at:]
        return sentence

    # ---- whole lines ----
    def line(self, kind: str | None = None) -> str:
        """One line of 1..40 characters, no leading/trailing or doubled spaces."""
        if kind is None:
            kind = KINDS[int(self.rng.choice(len(KINDS), p=_KIND_P))]
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        text = _clip(getattr(self, "_" + kind)())
        return text or self.hanzi(2)

    def _heading(self) -> str:
        r = self.rng.random()
        if r < 0.4:
            return self.pick(vocab.HEADINGS)
        if r < 0.7:
            return self.pick(vocab.CITIES) + self.pick(vocab.HEADINGS)
        if r < 0.85:
            return self.company() + self.pick(("采购订单", "送货单", "报价单", "对账单"))
        return f"关于{self.pick(vocab.TOPIC_WORDS)}工作的{self.pick(('通知', '报告', '说明', '请示'))}"

    def _kv(self) -> str:
        key = self.key()
        return key + self.pick(("：", "：", ":", ": ")) + self.value_for(key)

    def _paragraph(self) -> str:
        text = self._spliced(self.sentence())
        n = int(self.rng.integers(8, MAX_LINE_CHARS + 1))
        start = int(self.rng.integers(0, max(1, len(text) - n + 1)))
        return text[start : start + n]

    def _amount(self) -> str:
        return self.amount()

    def _date(self) -> str:
        return self.date()

    def _phone(self) -> str:
        return self.phone()

    def _order_no(self) -> str:
        return self.order_no()

    def _invoice_item(self) -> str:
        item, qty, unit = self.item(), self.quantity(), self.pick(vocab.UNITS)
        price = self.money(1, 5000)
        form = int(self.rng.integers(4))
        if form == 0:
            return f"*{self.pick(vocab.ITEM_CATEGORIES)}*{item}"
        if form == 1:
            return f"{item} {self.pick(vocab.SPECS)}"
        if form == 2:
            return f"{item} {qty}{unit} x{price:.2f}"
        return f"{item} {qty}{unit} {price:.2f} {qty * price:.2f}"

    def _receipt_item(self) -> str:
        item, qty, price = self.pick(vocab.SHOP_ITEMS), int(self.rng.integers(1, 6)), self.money(1, 200)
        form = int(self.rng.integers(3))
        if form == 0:
            return f"{item} {qty}x{price:.2f} {qty * price:.2f}"
        if form == 1:
            return f"{item} x{qty} {qty * price:.2f}"
        return f"{item} {price:.2f}"

    def _address(self) -> str:
        return self.address()

    def _mixed(self) -> str:
        form = int(self.rng.integers(7))
        if form == 0:
            return f"订单号 {self.order_no()} {self.pick(vocab.STATUS)}"
        if form == 1:
            return f"型号：{self._model()}"
        if form == 2:
            return f"Tel: {self.phone()} {self.person()}"
        if form == 3:
            return f"邮箱：sales@{self.pick(vocab.DOMAINS)}.com"
        if form == 4:
            return f"{self.item()} {self.pick(vocab.SPECS)} {self.quantity()}pcs"
        if form == 5:
            return f"合计 Total {self.amount()}"
        return f"发票号码 Invoice No. {self.digits(8)}"

    def _model(self) -> str:
        letters = string.ascii_uppercase
        prefix = "".join(letters[i] for i in self.rng.integers(0, 26, 2))
        return f"{prefix}-{self.digits(int(self.rng.integers(3, 6)))}"

    def _english(self) -> str:
        if self.rng.random() < 0.6:
            usd = f"${self.money(1, 20000):,.2f}"
            y, m, d = (
                int(self.rng.integers(2015, 2026)),
                int(self.rng.integers(1, 13)),
                int(self.rng.integers(1, 29)),
            )
            return self.pick(vocab.ENGLISH_LINES).format(
                num=self.digits(8), usd=usd, edate=f"{m:02d}/{d:02d}/{y}", order=self.order_no(),
                phone=self.phone(), page=1, pages=int(self.rng.integers(1, 5)),
                ename=self.pick(("ABC Trading Co., Ltd.", "Sino Tech Ltd.", "Global Logistics Inc.")),
                qty=self.quantity(), domain=self.pick(vocab.DOMAINS), model=self._model(), sn=self.digits(10),
            )  # fmt: skip
        words = [self.pick(vocab.ENGLISH_WORDS) for _ in range(int(self.rng.integers(2, 7)))]
        return " ".join(words)

    def _random_chars(self) -> str:
        n = int(self.rng.integers(4, 21))
        text = "".join(CHARSET_HINT[i] for i in self.rng.integers(0, len(CHARSET_HINT), n))
        text = " ".join(text.split())
        while len(text) < 4:  # spaces were squeezed out: top up with non-space characters
            text += CHARSET_HINT[int(self.rng.integers(1, len(CHARSET_HINT)))]
        return text
