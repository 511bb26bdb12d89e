"""What a real item name says: its action, its object and its sub-item qualifiers; and the main
item code (主项编码) inside a platform item code.

Published tables carry no `object`/`action` columns; the name carries them in a few fixed shapes:
"对…的行政处罚", "…许可证核发", "…审批（新办）（县级）", "…许可证延续", "…备案（据省政府令第349号…）".
`parse_name` takes a name apart:
- bracketed remarks are removed before anything is compared; a remark that is a sub-item
  qualifier (新办, 变更, 注销, 延续, 补办, 校验 …) is kept as a qualifier, a level (县级, 市级/县级,
  县级权限, 县级行使, 住建行使 …) or a legal citation (据省政府令第349号…, 根据…委托…) is dropped,
  anything else (技术改造, 婚前医学检查) is kept as a detail, outside the object;
- qualifiers written into the name ("燃气经营许可证注销", "护士新办执业注册") are taken out too;
- the action is the last action word (审批, 核准, 许可证核发 … → 许可; 备案, 书面报告 → 备案 …),
  or, when the name has none, the act its category names (行政许可 → 许可);
- the object is what is left once the action, the qualifiers, "对…的" and fillers (申请, 办理 …)
  are gone; common abbreviations are written out (招投标 → 招标投标, 网吧 → 互联网上网服务营业场所).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Action words → canonical action (the act, whatever the table calls it). Longer words first so
# "许可证核发" wins over "核发" and "书面报告" over "报告".
ACTIONS: dict[str, str] = {
    "行政处罚": "处罚", "处罚": "处罚",
    "许可证核发": "许可", "许可证": "许可", "许可": "许可", "审批": "许可", "批准": "许可", "核准": "许可",
    "核发": "许可", "准予": "许可", "审定": "许可", "签发": "许可",
    "审查": "审查", "审核": "审查", "初审": "审查", "核实": "审查", "核查": "审查",
    "书面报告": "备案", "备案": "备案", "报告": "备案", "告知": "备案", "存查": "备案",
    "登记": "登记", "注册": "登记",
    "确认": "确认", "认定": "确认", "鉴定": "确认", "评定": "确认", "核定": "确认", "定级": "确认",
    "证明": "确认", "认证": "确认",
    "检查": "检查", "检验": "检查", "检测": "检查", "检疫": "检查",
    "验收": "验收",
    "征收": "征收",
    "给付": "给付", "发放": "给付", "补贴": "给付", "补助": "给付", "救助": "给付", "抚恤": "给付",
    "奖励": "奖励", "表彰": "奖励",
    "裁决": "裁决", "仲裁": "裁决", "调解": "裁决",
    "处理": "处理",
    "强制": "强制", "查封": "强制", "扣押": "强制",
    "发布": "发布", "公示": "发布", "公布": "发布",
    "查询": "查询", "咨询": "查询",
}
# Word lengths, longest first: the end of a name is looked up once per length, not once per word.
_ACTION_LENGTHS = sorted({len(word) for word in ACTIONS}, reverse=True)

# The act a category stands for, when the name itself has no action word.
CATEGORY_ACTIONS = {
    "行政许可": "许可", "行政处罚": "处罚", "行政强制": "强制", "行政征收": "征收", "行政给付": "给付",
    "行政检查": "检查", "行政确认": "确认", "行政奖励": "奖励", "行政裁决": "裁决",
}

# Sub-item qualifiers → canonical stage of one licence or filing. Longer words first.
QUALIFIERS: dict[str, str] = {
    "首次申报": "新办", "初次申领": "新办", "新办": "新办", "首次": "新办", "初次": "新办", "初领": "新办",
    "新增": "新办", "新设": "新办", "设立": "新办", "开办": "新办", "取证": "新办", "配发": "新办", "筹建": "新办", "筹设": "新办",
    "信息变更": "变更", "变更": "变更", "更正": "变更", "改建": "变更", "扩建": "变更",
    "注销": "注销", "撤销": "注销", "终止": "注销", "歇业": "注销", "停业": "注销", "核销": "注销",
    "到期延续": "延续", "延续": "延续", "续期": "延续", "延期": "延续", "再注册": "延续",
    "遗失补办": "补办", "挂失补办": "补办", "补办": "补办", "补发": "补办", "补证": "补办", "补领": "补办",
    "到期换证": "换证", "期满换证": "换证", "换发": "换证", "换证": "换证", "换领": "换证",
    "校验": "校验", "年检": "校验", "年审": "校验", "复审": "校验", "复查": "校验",
    "转入": "转移", "转出": "转移", "过户": "转移",
    "恢复营业": "恢复", "恢复": "恢复",
    "终审": "终审",
}
# One alternation, longest words first, so "遗失补办" is taken whole before "补办".
_QUALIFIER_WORDS = re.compile("|".join(re.escape(w) for w in sorted(QUALIFIERS, key=len, reverse=True)))

# Bracketed remarks that only say who exercises the item or at which level: dropped.
_LEVEL = re.compile(r"^(?:[省市县区乡镇级/、和及]+|.{0,6}(?:权限|行使|级)|即办件|承诺件|含中外合资|内资)$")
# Legal citations and delegation notes: dropped ("据省政府令第349号…", "根据…委托…").
_CITATION = re.compile(r"据|令|第\d+号|委托|下放|实施$")
# Written-out forms of common abbreviations, applied before anything else.
ABBREVIATIONS = {"招投标": "招标投标", "网吧": "互联网上网服务营业场所", "出租车": "出租汽车"}
_SCOPE_PREFIXES = ("本辖区", "辖区")
_FILLERS = ("进行", "申请", "办理", "申领", "申报", "受理", "工作", "手续", "服务", "的", "及", "和", "与")
_BRACKETS = re.compile(r"[(\[【〔{]([^()\[\]【】〔〕{}]*)[)\]】〕}]")
_UNCLOSED = re.compile(r"[(\[【〔{][^)\]】〕}]*$")
_OPENING = re.compile(r"[(\[【〔{]")
_PUNCTUATION = re.compile(r"[\s\"'“”‘’《》<>「」『』,，、;；:：.。!！?？/\\|·—\-_]+")
_MAIN_CODE = re.compile(r"^(\d{3}[0-9A-Z]\d{5})(?:\d{3}|\d{5})$")
_LETTER_CODE = re.compile(r"^([A-Z]\d?)-(\d{4,6})-")
_PROVINCE_LETTER_CODE = re.compile(r"^(\d[A-Z])-(\d{4})-(\d{5})-")


@dataclass(frozen=True)
class NameParts:
    """A name taken apart. `object` and `action` are what two departments' items are compared on."""

    text: str  # the name without remarks, citations and punctuation (NFKC, abbreviations written out)
    object: str  # what the act is about; the whole text when nothing else is left
    action: str | None  # canonical action, None when neither the name nor the category says
    verb: str | None  # the action word as written (审批, 核发 …)
    qualifiers: tuple[str, ...] = ()  # canonical sub-item stages (新办, 变更 …), sorted
    details: tuple[str, ...] = ()  # other bracketed remarks (技术改造 …)


def _normalise(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).strip()
    for short, full in ABBREVIATIONS.items():
        text = text.replace(short, full)
    return text


def _remarks(text: str) -> tuple[str, list[str]]:
    """The text without bracketed remarks (innermost first, an unclosed one runs to the end)."""
    remarks: list[str] = []
    if _OPENING.search(text) is None:  # most names: one scan instead of two
        return text, remarks
    while True:
        match = _BRACKETS.search(text)
        if match is None:
            break
        remarks.append(match.group(1).strip())
        text = text[: match.start()] + " " + text[match.end() :]
    unclosed = _UNCLOSED.search(text)
    if unclosed:
        remarks.append(unclosed.group(0)[1:].strip())
        text = text[: unclosed.start()]
    return text, remarks


def _take_qualifiers(text: str) -> tuple[str, list[str]]:
    found = [QUALIFIERS[word] for word in _QUALIFIER_WORDS.findall(text)]
    return (_QUALIFIER_WORDS.sub(" ", text) if found else text), found


# Fillers by their last character. No filler ends another (办理 and 受理 share only 理), so a run
# of fillers at the end comes apart one way, from the end: a loop instead of a `(…)+$` regex,
# which tries every position of the name.
_FILLERS_BY_LAST: dict[str, tuple[str, ...]] = {}
for _filler in _FILLERS:
    _FILLERS_BY_LAST[_filler[-1]] = (*_FILLERS_BY_LAST.get(_filler[-1], ()), _filler)


def _strip_fillers(text: str) -> str:
    """The text without trailing fillers (申请, 办理, 的 …), unless nothing else is left."""
    end = len(text)
    while end:
        for filler in _FILLERS_BY_LAST.get(text[end - 1], ()):
            if text.endswith(filler, 0, end):
                end -= len(filler)
                break
        else:
            break
    return text[:end] or text


def _action_at_end(text: str) -> str | None:
    for length in _ACTION_LENGTHS:
        if len(text) > length and text[-length:] in ACTIONS:
            return text[-length:]
    return None


def parse_name(name: str, category: str | None = None) -> NameParts:
    """Action, object, qualifiers and details of an item name (see the module doc)."""
    text, remarks = _remarks(_normalise(name))
    qualifiers: list[str] = []
    details: list[str] = []
    for remark in remarks:
        compact = _PUNCTUATION.sub("", remark)
        if not compact or _LEVEL.match(compact) or _CITATION.search(compact):
            continue
        rest, found = _take_qualifiers(compact)
        qualifiers.extend(found)
        rest = _PUNCTUATION.sub("", rest)
        if rest and not _LEVEL.match(rest):
            details.append(rest)
    text = _PUNCTUATION.sub("", text)
    core, found = _take_qualifiers(text)
    qualifiers.extend(found)
    core = core.replace(" ", "")
    if core.startswith("对") and len(core) > 2:
        core = core[1:]
    # "辖区…" only says the item is exercised in the department's own area, like 县级.
    for scope in _SCOPE_PREFIXES:
        if core.startswith(scope) and len(core) > len(scope) + 1:
            core = core[len(scope) :]
            break
    core = _strip_fillers(core)
    verb = None
    action = None
    # The last action word is the act; the words before it may repeat it ("许可证核发").
    while True:
        word = _action_at_end(core)
        if word is None:
            break
        if verb is None:
            verb, action = word, ACTIONS[word]
        core = _strip_fillers(core[: -len(word)])
        if ACTIONS[word] != action:
            core += word  # a different act before the last one belongs to the object (检疫证书签发)
            break
    if action is None:
        action = CATEGORY_ACTIONS.get(category or "")
    return NameParts(
        text=text,
        object=core or text,
        action=action,
        verb=verb,
        qualifiers=tuple(sorted(set(qualifiers))),
        details=tuple(details),
    )


def main_code(code: str) -> str | None:
    """The main item (主项) a platform item code belongs to, or None for codes of other grammars.

    Sichuan-style codes: `511A0045000040-511602000000-…` and `511A16002004-…` both start with
    province (3 digits) + type letter or digit + 5-digit main item, then 5 or 3 digits of sub-item:
    main code `511A00450` / `511A16002`. National letter codes `G-000007-001-…` → `G-000007`;
    `1J-5100-00027-…` → `1J-5100-00027` is already the item itself (no main part) → None.
    """
    head = unicodedata.normalize("NFKC", code).strip().upper().split("-", 1)[0]
    match = _MAIN_CODE.match(head)
    if match:
        return match.group(1)
    letter = _LETTER_CODE.match(unicodedata.normalize("NFKC", code).strip().upper())
    if letter and not _PROVINCE_LETTER_CODE.match(code):
        return f"{letter.group(1)}-{letter.group(2)}"
    return None
