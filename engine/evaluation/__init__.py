"""绩效考评 (evaluation): scoring units and staff by the published scheme (docs/evaluation.md).

- `scheme`: the indicator tree as data, the default scheme, weight validation;
- `scoring`: pure arithmetic and rules — totals, grades, downgrades, the use of results;
- `indicators`: objective indicators computed from the record in SQL (高效履职, 常规工作, 自查整改);
- `service`: years, trees, plans, scores, sanctions, results, publication (asks engine.auth.policy),
  and the 诫勉整改 cases publication opens;
- `survey`, `process_functions`: the year-end survey's ballots and the evaluation processes' script
  functions; `export`: the year's results as a workbook.

This package sits above engine.runtime and below engine.application and api
(docs/architecture.md); it reads the runtime's record through engine.models and starts
processes through engine.runtime.instance_service.
"""
