"""Whole synthetic pages (invoice, receipt, form, paragraphs, table) for the detector (CTPN).

Every ground-truth line is drawn through `_Page.text`, the one place that enforces the layout rules:
lines stay inside the page margins (so a +-2 degree rotation keeps them on the image), never overlap,
keep >= 30 px between lines on the same row and >= 4 px between rows, keep >= 3 px from every ruled
line, and are at least 12 px tall in ink. A line that would break a rule is simply not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ocr_synth import degrade as _degrade
from ocr_synth import fonts, render, vocab
from ocr_synth.content import CHARSET_HINT, TextSource

LAYOUTS = ("invoice", "receipt", "form", "paragraphs", "table")
WIDTH_RANGE = (640, 1280)
HEIGHT_RANGE = (480, 1280)
SIZE_RANGE = (14, 40)
MIN_INK_HEIGHT = 12
SAME_ROW_GAP = 30  # px between the ink of two lines side by side
ROW_GAP = 4  # px between the ink of two lines above each other
RULE_CLEARANCE = 3  # px between ink and any ruled line
MAX_CHARS = 40


@dataclass
class GtLine:
    text: str
    quad: np.ndarray  # float32 (4, 2), pixel-edge coords, clockwise from top-left, tight around the ink
    font: str = ""  # the family it is drawn in (generated pages; "" for labelled ones)


@dataclass
class DocSample:
    image: np.ndarray  # uint8 HxWx3 RGB
    lines: list[GtLine]
    layout: str


@dataclass
class _Page:
    """A sheet being drawn on; tracks placed ink boxes and rules so new lines can be refused."""

    rng: np.random.Generator
    split: str
    image: np.ndarray
    margin: int
    ink: np.ndarray
    cjk_font: fonts.FontSpec
    cjk_bold: fonts.FontSpec
    latin_font: fonts.FontSpec | None
    lines: list[GtLine] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    rules: list[tuple[int, int, int, int]] = field(default_factory=list)
    area: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 where text may go (receipt paper)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def bounds(self) -> tuple[int, int, int, int]:
        m = self.margin
        page = (m, m, self.width - m, self.height - m)
        if self.area is None:
            return page
        a = self.area
        return max(page[0], a[0]), max(page[1], a[1]), min(page[2], a[2]), min(page[3], a[3])

    def font(self, text: str, bold: bool = False) -> fonts.FontSpec:
        if self.latin_font is not None and render.is_ascii(text):
            return self.latin_font
        return self.cjk_bold if bold else self.cjk_font

    def measure(self, text: str, size: int, bold: bool = False) -> render.InkMask | None:
        """Ink of text at size, grown until it is MIN_INK_HEIGHT tall (None if it never is)."""
        spec = self.font(text, bold)
        # families without a bold face get a 1 px stroke instead (only where it stays legible)
        stroke = 1 if bold and not spec.bold and size >= 22 else 0
        for s in range(size, size + 10, 2):
            m = render.ink_mask(text, spec, s, stroke=stroke)
            if m is None:
                return None
            if m.height >= MIN_INK_HEIGHT:
                return m
        return None

    def fit(self, text: str, size: int, max_width: float, bold: bool = False) -> str:
        """Longest prefix of text (<= MAX_CHARS) whose advance fits max_width."""
        font = fonts.load(self.font(text, bold), size)
        text = text[:MAX_CHARS]
        while text and font.getlength(text) > max_width:
            text = text[: max(1, int(len(text) * max_width / font.getlength(text)))] if len(text) > 1 else ""
            text = text.rstrip()
            if text and font.getlength(text) <= max_width:
                break
        return text

    def text(
        self,
        text: str,
        size: int,
        x: float,
        band_top: float,
        band_h: float,
        align: str = "left",
        bold: bool = False,
        colour: np.ndarray | None = None,
    ) -> tuple[int, int, int, int] | None:
        """Draw one ground-truth line with its ink vertically centred in a band; returns its ink box."""
        text = " ".join(text.split())
        if not text:
            return None
        m = self.measure(text, size, bold)
        if m is None:
            return None
        if align == "left":
            x0 = x
        elif align == "right":
            x0 = x - m.width
        else:
            x0 = x - m.width / 2
        x0, y0 = int(round(x0)), int(round(band_top + (band_h - m.height) / 2))
        box = (x0, y0, x0 + m.width, y0 + m.height)
        if not self._free(box):
            return None
        render.composite(self.image, m, x0, y0, self.ink if colour is None else colour)
        quad = np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]], np.float32)
        self.lines.append(GtLine(text=text, quad=quad, font=self.font(text, bold).family))
        self.boxes.append(box)
        return box

    def _free(self, box: tuple[int, int, int, int]) -> bool:
        bx0, by0, bx1, by1 = self.bounds()
        if box[0] < bx0 or box[1] < by0 or box[2] > bx1 or box[3] > by1:
            return False
        for o in self.boxes:
            dx = max(o[0] - box[2], box[0] - o[2])
            dy = max(o[1] - box[3], box[1] - o[3])
            if dx < SAME_ROW_GAP and dy < ROW_GAP:
                return False
        c = RULE_CLEARANCE
        for r in self.rules:
            if box[0] < r[2] + c and r[0] < box[2] + c and box[1] < r[3] + c and r[1] < box[3] + c:
                return False
        return True

    def rule(self, x0: float, y0: float, x1: float, y1: float, thickness: int = 1) -> None:
        """A ruled line (horizontal or vertical) from (x0, y0) to (x1, y1), drawn before the text."""
        x0, y0, x1, y1 = int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))
        if y0 == y1:
            rect = (min(x0, x1), y0, max(x0, x1) + 1, y0 + thickness)
        else:
            rect = (x0, min(y0, y1), x0 + thickness, max(y0, y1) + 1)
        rect = (max(rect[0], 0), max(rect[1], 0), min(rect[2], self.width), min(rect[3], self.height))
        shade = np.clip(self.ink.astype(np.int32) + 40, 0, 255).astype(np.uint8)
        self.image[rect[1] : rect[3], rect[0] : rect[2]] = shade
        self.rules.append(rect)


# ---------------------------------------------------------------- layouts
def _two_columns(page: _Page, ts: TextSource, y: float, size: int, rows: int, keys: tuple[str, ...]) -> float:
    bx0, _, bx1, _ = page.bounds()
    half = (bx1 - bx0) / 2
    band = size * 1.7
    for _ in range(rows):
        for col in range(2):
            key = ts.pick(keys)
            text = page.fit(key + "：" + ts.value_for(key), size, half - SAME_ROW_GAP - 8)
            page.text(text, size, bx0 + col * half, y, band)
        y += band
    return y


def _grid(
    page: _Page,
    rows: list[list[str]],
    x: float,
    y: float,
    col_w: list[float],
    size: int,
    pad_x: float,
    pad_y: float,
    aligns: list[str],
    header_bold: bool = True,
) -> float:
    """A ruled table; each cell is its own ground-truth line. Returns the bottom y."""
    line_h = size * 1.25
    row_h = line_h + 2 * pad_y
    thick = int(page.rng.integers(1, 3))
    x_edges = [x]
    for w in col_w:
        x_edges.append(x_edges[-1] + w)
    y_edges = [y + i * row_h for i in range(len(rows) + 1)]
    for ye in y_edges:
        page.rule(x_edges[0], ye, x_edges[-1], ye, thick)
    for xe in x_edges:
        page.rule(xe, y_edges[0], xe, y_edges[-1], thick)
    for r, cells in enumerate(rows):
        for c, cell in enumerate(cells):
            inner = col_w[c] - 2 * pad_x
            text = page.fit(cell, size, inner, bold=header_bold and r == 0)
            align = "center" if r == 0 else aligns[c]
            ax = {
                "left": x_edges[c] + pad_x,
                "center": (x_edges[c] + x_edges[c + 1]) / 2,
                "right": x_edges[c + 1] - pad_x,
            }[align]
            page.text(
                text, size, ax, y_edges[r] + pad_y + thick, line_h, align=align, bold=header_bold and r == 0
            )
    return y_edges[-1]


def _invoice(page: _Page, ts: TextSource, size: int) -> None:
    rng = page.rng
    bx0, by0, bx1, by1 = page.bounds()
    title_size = min(SIZE_RANGE[1], int(size * rng.uniform(1.4, 1.9)))
    title = ts.pick(vocab.CITIES) + ts.pick(
        ("增值税普通发票", "增值税专用发票", "电子发票（普通发票）", "销售发票")
    )
    y = by0 + 4
    box = page.text(title, title_size, (bx0 + bx1) / 2, y, title_size * 1.4, align="center", bold=True)
    if box is not None:
        page.rule(box[0] - 10, box[3] + 6, box[2] + 10, box[3] + 6, 2)
        page.rule(box[0] - 10, box[3] + 10, box[2] + 10, box[3] + 10, 1)
    y += title_size * 1.4 + 16
    band = size * 1.7
    right_x = bx0 + (bx1 - bx0) * 0.6
    for key in ("发票号码", "开票日期"):
        page.text(page.fit(key + "：" + ts.value_for(key), size, bx1 - right_x), size, right_x, y, band)
        y += band
    y = _two_columns(
        page,
        ts,
        y + 4,
        size,
        int(rng.integers(1, 4)),
        ("名称", "纳税人识别号", "地址", "电话", "开户行", "账号"),
    )
    # items table: as many rows as leave room for the totals, seller block and signatures
    pad_y = max(6.0, size * 0.3)
    row_h = size * 1.25 + 2 * pad_y
    fit = int((by1 - y - 8 - band * 6 - 30) // row_h) - 2
    most = max(1, min(fit, 12))
    n_items = int(rng.integers(min(max(1, fit // 2), most), most + 1))
    headers = ["货物或应税劳务名称", "数量", "单价", "金额"]
    rows = [headers]
    total = 0.0
    for _ in range(n_items):
        qty, price = ts.quantity(), ts.money(1, 3000)
        amount = round(qty * price, 2)
        total += amount
        name = ts.item() if rng.random() < 0.6 else f"*{ts.pick(vocab.ITEM_CATEGORIES)}*{ts.item()}"
        rows.append([name, str(qty), f"{price:.2f}", f"{amount:.2f}"])
    rows.append(["合计", "", "", f"¥{total:,.2f}"])
    width = bx1 - bx0
    col_w = [width * 0.44, width * 0.14, width * 0.2, width * 0.22]
    pad_x = max(SAME_ROW_GAP / 2 + 2, size * 0.6)
    y = _grid(page, rows, bx0, y + 8, col_w, size, pad_x, pad_y, ["left", "right", "right", "right"])
    y += 10
    page.text(page.fit("价税合计（大写）" + _words(total), size, width * 0.62), size, bx0, y, band)
    page.text(f"（小写）¥{total:,.2f}", size, bx1, y, band, align="right")
    y += band + 6
    y = _two_columns(
        page, ts, y, size, int(rng.integers(1, 3)), ("名称", "地址", "电话", "开户行", "账号", "备注")
    )
    y += 6
    roles = ("收款人", "复核", "开票人")
    for i, role in enumerate(roles):
        page.text(f"{role}：{ts.person()}", size, bx0 + i * width / 3, y, band)
    r = rng.uniform(45, 75)
    _degrade.stamp(rng, page.image, bx1 - r - rng.uniform(0, 60), min(y + band / 2, by1 - r), r)


def _words(value: float) -> str:
    from ocr_synth.content import amount_in_words

    return amount_in_words(value)


def _receipt(page: _Page, ts: TextSource, size: int) -> None:
    rng = page.rng
    m = page.margin
    size = min(size, 24)
    pw = int(min(page.width - 2 * m, max(300, page.width * rng.uniform(0.35, 0.6))))
    px0 = int(rng.integers(m, page.width - m - pw + 1))
    py0 = int(rng.integers(0, max(1, page.height // 6)))
    py1 = page.height - m // 2
    # a desk around the paper; the paper below the last line is cut off at the end
    paper = page.image.copy()
    desk = render.paper(rng, page.width, page.height, noise=float(rng.uniform(2, 8)))
    desk = (desk.astype(np.float32) * rng.uniform(0.3, 0.75, 3).astype(np.float32)).astype(np.uint8)
    page.image[:] = desk
    page.image[py0:py1, px0 : px0 + pw] = paper[py0:py1, px0 : px0 + pw]
    inner = int(rng.integers(14, 28))
    page.area = (px0 + inner, py0 + inner, px0 + pw - inner, py1 - inner)
    bx0, by0, bx1, by1 = page.bounds()
    band = size * 1.6
    y = by0
    page.text(
        page.fit(ts.shop(), size + 6, bx1 - bx0, bold=True),
        size + 6,
        (bx0 + bx1) / 2,
        y,
        band + 8,
        "center",
        True,
    )
    y += band + 8
    for line in (
        ts.address(),
        "电话：" + ts.phone(),
        "单号：" + ts.order_no(),
        ts.date() + f" {int(rng.integers(8, 22)):02d}:{int(rng.integers(0, 60)):02d}",
    ):
        if rng.random() < 0.85:
            page.text(page.fit(line, size, bx1 - bx0), size, bx0, y, band)
            y += band
    y += 4
    page.rule(bx0, y, bx1, y)
    y += 6
    total = 0.0
    for _ in range(int(rng.integers(2, 12))):
        if y + band > by1 - 4 * band:
            break
        name, qty, price = ts.pick(vocab.SHOP_ITEMS), int(rng.integers(1, 6)), ts.money(1, 200)
        amount = round(qty * price, 2)
        total += amount
        price_text = f"{amount:.2f}"
        if page.text(price_text, size, bx1, y, band, align="right") is not None:
            label = f"{name} x{qty}" if rng.random() < 0.5 else name
            page.text(page.fit(label, size, bx1 - bx0 - 80 - SAME_ROW_GAP), size, bx0, y, band)
        y += band
    y += 4
    page.rule(bx0, y, bx1, y)
    y += 6
    paid = math.ceil(total / 10) * 10 if rng.random() < 0.5 else round(total, 2)
    for key, value in (("合计", total), ("实收", paid), ("找零", paid - total)):
        page.text(key, size, bx0, y, band, bold=key == "合计")
        page.text(f"{value:.2f}", size, bx1, y, band, align="right")
        y += band
    y += 6
    page.text(
        ts.pick(("谢谢惠顾", "欢迎再次光临", "Thank you!", "请保留小票")),
        size,
        (bx0 + bx1) / 2,
        y,
        band,
        "center",
    )
    end = int(y + band + inner)
    if end < py1:
        page.image[end:py1, px0 : px0 + pw] = desk[end:py1, px0 : px0 + pw]


def _form(page: _Page, ts: TextSource, size: int) -> None:
    rng = page.rng
    bx0, by0, bx1, by1 = page.bounds()
    title_size = min(SIZE_RANGE[1], int(size * rng.uniform(1.3, 1.8)))
    y = by0 + 4
    page.text(ts.line("heading"), title_size, (bx0 + bx1) / 2, y, title_size * 1.4, "center", True)
    y += title_size * 1.4 + 12
    band = size * rng.uniform(1.7, 2.4)
    while y + band <= by1:
        key = ts.key()
        label = key + ts.pick(("：", ":", ""))
        value = ts.value_for(key)
        style = rng.random()
        if style < 0.35:  # value far right
            kbox = page.text(label, size, bx0, y, band)
            if kbox is not None:
                room = bx1 - kbox[2] - SAME_ROW_GAP - 4
                page.text(page.fit(value, size, room), size, bx1, y, band, align="right")
        elif style < 0.65:  # value on an underline
            kbox = page.text(label, size, bx0, y, band)
            if kbox is not None:
                vx = kbox[2] + SAME_ROW_GAP + 4
                page.rule(vx - 4, y + band - 2, bx1, y + band - 2)
                page.text(page.fit(value, size, bx1 - vx - 8), size, vx, y, band - 8)
        elif style < 0.85:  # one line "key：value"
            page.text(page.fit(label + value, size, bx1 - bx0), size, bx0, y, band)
        else:  # two short fields in a row
            half = (bx1 - bx0) / 2
            for col in range(2):
                k = ts.key()
                page.text(
                    page.fit(k + "：" + ts.value_for(k), size, half - SAME_ROW_GAP - 8),
                    size,
                    bx0 + col * half,
                    y,
                    band,
                )
        y += band
    if rng.random() < 0.4:
        r = rng.uniform(40, 70)
        _degrade.stamp(rng, page.image, rng.uniform(bx0 + r, bx1 - r), rng.uniform(by0 + r, by1 - r), r)


def _wrap(page: _Page, text: str, size: int, width: float, indent: float) -> list[tuple[str, float]]:
    """Greedy wrapping into lines of at most MAX_CHARS; returns (text, x offset) pairs."""
    font = fonts.load(page.font(text), size)
    out: list[tuple[str, float]] = []
    start, first = 0, True
    while start < len(text):
        avail = width - (indent if first else 0) - 4  # ink may overhang the advance a little
        end = min(len(text), start + MAX_CHARS)
        while end > start + 1 and font.getlength(text[start:end]) > avail:
            end -= 1
        chunk = text[start:end].strip()
        if chunk:
            out.append((chunk, indent if first else 0.0))
        start, first = end, False
    return out


def _paragraphs(page: _Page, ts: TextSource, size: int) -> None:
    rng = page.rng
    bx0, by0, bx1, by1 = page.bounds()
    title_size = min(SIZE_RANGE[1], int(size * rng.uniform(1.3, 1.8)))
    y = by0 + 4
    page.text(ts.line("heading"), title_size, (bx0 + bx1) / 2, y, title_size * 1.4, "center", True)
    y += title_size * 1.4 + 10
    band = size * rng.uniform(1.5, 2.0)
    if rng.random() < 0.6:
        page.text(ts.date(), size, bx1, y, band, align="right")
        y += band
    width = bx1 - bx0
    n_cols = 2 if width > 2 * 22 * size + 60 and rng.random() < 0.5 else 1
    gutter = 60
    col_w = min((width - gutter * (n_cols - 1)) / n_cols, MAX_CHARS * size * 1.02)
    y_top = y
    for col in range(n_cols):
        x = bx0 + col * (col_w + gutter)
        y = y_top
        while y + band <= by1:
            text = ts.paragraph_text(int(rng.integers(30, 160)))
            for chunk, dx in _wrap(page, text, size, col_w, 2 * size):
                if y + band > by1:
                    break
                page.text(chunk, size, x + dx, y, band)
                y += band
            y += band * rng.uniform(0.2, 0.6)


def _cell_text(ts: TextSource, kind: str) -> str:
    rng = ts.rng
    if kind == "name":
        t = ts.person()
    elif kind == "item":
        t = ts.item()
    elif kind == "company":
        t = ts.pick(vocab.BRAND_PARTS) + ts.pick(vocab.BRAND_PARTS) + ts.pick(vocab.INDUSTRIES)
        if rng.random() < 0.5:
            t += ts.pick(("公司", "商行", "有限公司"))
    elif kind == "date":
        t = ts.date()
    elif kind == "amount":
        t = f"{ts.money(1, 100000):,.2f}"
    elif kind == "qty":
        t = f"{ts.quantity()}{ts.pick(vocab.UNITS)}"
    elif kind == "phone":
        t = ts.phone().replace(" ", "")
        t = t if len(t) <= 12 else "13" + ts.digits(9)
    elif kind == "code":
        t = ts.pick(("NO.", "SN-", "PO", "")) + ts.digits(int(rng.integers(4, 9)))
    else:
        t = ts.pick(vocab.DEPARTMENTS) if rng.random() < 0.5 else ts.pick(vocab.STATUS)
    t = t.replace(" ", "")
    return t if 2 <= len(t) <= 12 else (t + ts.hanzi(2))[:12]


_COLUMN_KINDS = {
    "name": ("姓名", "经办人", "负责人"), "item": ("品名", "项目", "货物名称"),
    "company": ("单位", "客户名称"),
    "date": ("日期", "交货日期"), "amount": ("金额", "单价", "合计"), "qty": ("数量",), "phone": ("电话",),
    "code": ("编号", "单号"), "status": ("部门", "状态"),
}  # fmt: skip


def _table(page: _Page, ts: TextSource, size: int) -> None:
    """One to three ruled tables down the page, each cell its own line."""
    rng = page.rng
    bx0, by0, bx1, by1 = page.bounds()
    y = by0 + 4
    if rng.random() < 0.8:
        title_size = min(SIZE_RANGE[1], int(size * rng.uniform(1.2, 1.6)))
        page.text(ts.line("heading"), title_size, (bx0 + bx1) / 2, y, title_size * 1.4, "center", True)
        y += title_size * 1.4 + 12
    for _ in range(3):
        bottom = _one_table(page, ts, size, y)
        if bottom is None:
            break
        y = bottom + rng.uniform(16, 40)
        if rng.random() < 0.5:  # a note between tables
            band = size * 1.7
            page.text(page.fit(ts.line("kv"), size, bx1 - bx0), size, bx0, y, band)
            y += band + 8


def _one_table(page: _Page, ts: TextSource, size: int, y: float) -> float | None:
    rng = page.rng
    bx0, _, bx1, by1 = page.bounds()
    pad_x = float(rng.uniform(SAME_ROW_GAP / 2 + 2, SAME_ROW_GAP))
    pad_y = float(rng.uniform(4, 12))
    row_h = size * 1.25 + 2 * pad_y
    room = int((by1 - y) // row_h) - 1
    if room < 3:
        return None
    kinds = list(_COLUMN_KINDS)
    n_cols = int(rng.integers(2, 7))
    cols = [kinds[i] for i in rng.choice(len(kinds), n_cols, replace=False)]
    n_rows = min(int(rng.integers(4, 13)), room)
    rows = [[ts.pick(_COLUMN_KINDS[k]) for k in cols]]
    rows += [[_cell_text(ts, k) for k in cols] for _ in range(n_rows - 1)]
    col_w = []
    for c in range(n_cols):
        longest = max(
            fonts.load(page.font(r[c], bold=i == 0), size).getlength(r[c]) for i, r in enumerate(rows)
        )
        col_w.append(longest + 2 * pad_x + 4)
    while sum(col_w) > bx1 - bx0 and len(col_w) > 2:  # too wide: drop the last column
        col_w.pop()
        rows = [r[:-1] for r in rows]
    scale = min(1.0, (bx1 - bx0) / sum(col_w))
    col_w = [w * scale for w in col_w]
    aligns = [
        ("right" if k in ("amount", "qty") else ts.pick(("left", "center"))) for k in cols[: len(col_w)]
    ]
    x = bx0 + rng.uniform(0, max(0.0, bx1 - bx0 - sum(col_w)))
    return _grid(page, rows, x, y, col_w, size, pad_x, pad_y, aligns, header_bold=rng.random() < 0.7)


_LAYOUT_FUNCS = {
    "invoice": _invoice,
    "receipt": _receipt,
    "form": _form,
    "paragraphs": _paragraphs,
    "table": _table,
}


def render_document(
    rng: np.random.Generator,
    split: str = "train",
    degrade: bool | None = None,
    size: tuple[int, int] | None = None,
    layout: str | None = None,
) -> DocSample:
    """One page of a random (or given) layout with a tight ink quad per line."""
    if layout is None:
        layout = LAYOUTS[int(rng.integers(len(LAYOUTS)))]
    if layout not in _LAYOUT_FUNCS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    if size is None:
        size = (
            int(rng.integers(WIDTH_RANGE[0], WIDTH_RANGE[1] + 1)),
            int(rng.integers(HEIGHT_RANGE[0], HEIGHT_RANGE[1] + 1)),
        )
    if degrade is None:
        degrade = bool(rng.random() < 0.5)
    width, height = size
    specs = fonts.discover(split)
    # a page is set in one CJK family, so only families that can print everything content emits
    cjk = [s for s in specs if s.cjk and not s.bold and fonts.covers(s, CHARSET_HINT)]
    cjk_bold = [s for s in specs if s.cjk and s.bold]
    latin = [s for s in specs if not s.cjk and not s.bold]
    cjk_font = cjk[int(rng.integers(len(cjk)))]
    same_family_bold = [s for s in cjk_bold if s.family == cjk_font.family]
    bold_font = same_family_bold[0] if same_family_bold else cjk_font
    latin_font = latin[int(rng.integers(len(latin)))] if rng.random() < 0.35 else None
    # keep lines clear of the edge by more than a 2-degree rotation can move them
    margin = math.ceil(math.hypot(width, height) / 2 * math.sin(math.radians(_degrade.MAX_ANGLE_DEG))) + 12
    page = _Page(
        rng=rng, split=split, image=render.paper(rng, width, height), margin=margin,
        ink=render.ink_colour(rng),
        cjk_font=cjk_font, cjk_bold=bold_font, latin_font=latin_font,
    )  # fmt: skip
    # body type in proportion to the page: 14..20 px on a 640 px page, up to 14..32 on 1280
    body = int(rng.integers(SIZE_RANGE[0], min(32, max(16, width // 32)) + 1))
    _LAYOUT_FUNCS[layout](page, TextSource(rng), body)
    image, quads = page.image, [ln.quad for ln in page.lines]
    if degrade:
        image, quads = _degrade.apply(rng, image, quads)
    lines = [GtLine(text=ln.text, quad=q, font=ln.font) for ln, q in zip(page.lines, quads, strict=True)]
    return DocSample(image=image, lines=lines, layout=layout)


def generate(seed: int, count: int, split: str, degrade: bool | None = None) -> Iterator[DocSample]:
    """count documents; document i depends only on (seed, i), so sets can be made in pieces."""
    for i in range(count):
        yield render_document(np.random.default_rng([seed, i]), split=split, degrade=degrade)
