"""Extract the 1,135 rows of 四川省广安市广安区's service-item list from `bszl-data.js` into a CSV.

    git --git-dir=<mirror of github.com/v-luobo/zwfw> show HEAD:bszl-data.js > bszl-data.js
    python bench/extract_guangan.py bszl-data.js bench/data/guangan_full.csv

The file is a JavaScript array (`const bszlData = [...]`) of departments → main items → sub-items,
each sub-item a name and a link whose query carries itemCode, taskType, deptCode, areaCode. The
columns are those of tests/data (序号, 部门名称, 主项名称, 事项名称, 事项编码, 事项类型代码, 事项类型,
部门标识, 区划代码); the 311-row sample in tests/data is a subset of this output, row for row.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HEADER = ["序号", "部门名称", "主项名称", "事项名称", "事项编码", "事项类型代码", "事项类型", "部门标识", "区划代码"]
# National 政务服务事项类型 codes (taskType), as engine/catalog/tabular.py maps them.
TYPES = {1: "行政许可", 2: "行政处罚", 3: "行政强制", 4: "行政征收", 5: "行政给付", 6: "行政检查", 7: "行政确认",
         8: "行政奖励", 9: "行政裁决", 10: "其他行政权力", 20: "公共服务"}


def rows(text: str) -> list[list[object]]:
    data = json.loads(text[text.index("[") : text.rindex("]") + 1])
    found: list[list[object]] = []
    for department in data:
        for item in department["items"]:
            for sub in item["sub_items"]:
                query = parse_qs(urlsplit(sub["link"]).query)
                task_type = int(query["taskType"][0])
                found.append([len(found) + 1, department["department"], item["main_item"], sub["name"],
                              query["itemCode"][0], task_type, TYPES[task_type], query["deptCode"][0],
                              query["areaCode"][0]])
    return found


def extract(source: Path, target: Path) -> int:
    extracted = rows(source.read_text(encoding="utf-8"))
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(extracted)
    return len(extracted)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("用法：python bench/extract_guangan.py bszl-data.js 输出.csv")
    print(f"{extract(Path(sys.argv[1]), Path(sys.argv[2]))} 行")
