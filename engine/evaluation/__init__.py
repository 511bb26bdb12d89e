"""绩效考评 (evaluation): scoring units and staff by the published scheme (docs/evaluation.md).

- `scheme`: the indicator tree as data, the default scheme, weight validation;
- `scoring`: pure arithmetic and rules — totals, grades, downgrades, the use of results;
- `indicators`: objective indicators computed from the record in SQL (高效履职, 常规工作);
- `service`: years, trees, plans, scores, sanctions, results, publication (asks engine.auth.policy).

This package sits above engine.runtime's tables and below engine.application and api
(docs/architecture.md); it reads the runtime's record through engine.models only.
"""
