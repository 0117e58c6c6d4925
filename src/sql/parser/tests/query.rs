//! The clauses of `SELECT`: projection, sources and aliases, joins, windows, and the trailing clauses.

use datafusion::sql::sqlparser::ast::SelectItem;

use super::{assert_error, query};
use crate::sql::ast::{Emit, JoinKind, Position, WindowSpec, Within};

fn items(sql: &str) -> Vec<String> {
    query(sql).projection.iter().map(ToString::to_string).collect()
}

#[test]
fn projection_items() {
    assert_eq!(
        items("SELECT *, s.*, a, b AS bee, c cee, `Mixed` AS `Alias`, COUNT(*) FROM s"),
        [
            "*",
            "S.*",
            "A",
            "B AS BEE",
            "C AS CEE",
            "`Mixed` AS `Alias`",
            "COUNT(*)"
        ]
    );
    assert!(matches!(
        query("SELECT * FROM s").projection[0],
        SelectItem::Wildcard(_)
    ));
}

#[test]
fn every_clause_in_order() {
    let q = query(
        "SELECT region, COUNT(*) FROM pageviews pv WINDOW TUMBLING (SIZE 30 SECONDS) WHERE pv.x > 1 \
         GROUP BY region, city HAVING COUNT(*) > 2 EMIT FINAL LIMIT 10",
    );
    assert_eq!(q.from.source.alias.as_deref(), Some("PV"));
    assert_eq!(
        q.window,
        Some(WindowSpec::Tumbling {
            size_ms: 30_000,
            retention_ms: None,
            grace_ms: None
        })
    );
    assert_eq!(q.selection.map(|e| e.to_string()).as_deref(), Some("PV.X > 1"));
    assert_eq!(
        q.group_by.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["REGION", "CITY"]
    );
    assert_eq!(q.having.map(|e| e.to_string()).as_deref(), Some("COUNT(*) > 2"));
    assert_eq!(q.emit, Some(Emit::Final));
    assert_eq!(q.limit, Some(10));
    assert!(q.partition_by.is_empty());
}

#[test]
fn partition_by_and_having_in_either_order() {
    let q = query("SELECT * FROM s PARTITION BY a, b->c EMIT CHANGES");
    let partition: Vec<_> = q.partition_by.iter().map(ToString::to_string).collect();
    assert_eq!(partition, ["A", "B -> C"]);
    assert_eq!(q.emit, Some(Emit::Changes));

    let q = query("SELECT a FROM s GROUP BY a PARTITION BY a HAVING a > 1");
    assert!(q.having.is_some() && !q.partition_by.is_empty());
    let q = query("SELECT a FROM s GROUP BY a HAVING a > 1 PARTITION BY a");
    assert!(q.having.is_some() && !q.partition_by.is_empty());
}

#[test]
fn parenthesized_group_by_and_partition_by_lists() {
    let q = query("SELECT a, b, COUNT(*) FROM s GROUP BY (a, b)");
    assert_eq!(
        q.group_by.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["A", "B"]
    );
    let q = query("SELECT * FROM s PARTITION BY (a, b->c)");
    assert_eq!(
        q.partition_by.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["A", "B -> C"]
    );
    let q = query("SELECT a FROM s GROUP BY (a)");
    assert_eq!(q.group_by.iter().map(ToString::to_string).collect::<Vec<_>>(), ["(A)"]);
}

#[test]
fn positions_of_select_and_sources() {
    let q = query("\n  SELECT *\n  FROM  s AS x\n  JOIN t ON x.a = t.a");
    assert_eq!(q.position, Position { line: 2, column: 3 });
    assert_eq!(q.from.source.position, Position { line: 3, column: 9 });
    assert_eq!(q.from.joins[0].source.position, Position { line: 4, column: 8 });
}

#[test]
fn aliases_do_not_swallow_keywords() {
    for (sql, alias) in [
        ("SELECT * FROM s WINDOW SESSION (1 MINUTE)", None),
        ("SELECT * FROM s WHERE a = 1", None),
        ("SELECT a FROM s GROUP BY a", None),
        ("SELECT a FROM s HAVING a > 1", None),
        ("SELECT * FROM s PARTITION BY a", None),
        ("SELECT * FROM s EMIT CHANGES", None),
        ("SELECT * FROM s LIMIT 1", None),
        ("SELECT * FROM s JOIN t ON s.a = t.a", None),
        ("SELECT * FROM s LEFT JOIN t ON s.a = t.a", None),
        ("SELECT * FROM s INNER JOIN t ON s.a = t.a", None),
        ("SELECT * FROM s emitter EMIT CHANGES", Some("EMITTER")),
        ("SELECT * FROM s \"WHERE\" WHERE a = 1", Some("WHERE")),
        ("SELECT * FROM s AS partition", Some("PARTITION")),
    ] {
        assert_eq!(query(sql).from.source.alias.as_deref(), alias, "{sql}");
    }
}

#[test]
fn joins_of_every_kind() {
    let q = query(
        "SELECT * FROM a \
         JOIN b ON a.id = b.id \
         INNER JOIN c ON a.id = c.id \
         LEFT JOIN d ON a.id = d.id \
         LEFT OUTER JOIN e ON a.id = e.id \
         RIGHT JOIN f ON a.id = f.id \
         RIGHT OUTER JOIN g ON a.id = g.id \
         FULL JOIN h ON a.id = h.id \
         FULL OUTER JOIN i ON a.id = i.id",
    );
    let kinds: Vec<_> = q.from.joins.iter().map(|j| j.kind).collect();
    use JoinKind::*;
    assert_eq!(kinds, [Inner, Inner, Left, Left, Right, Right, Full, Full]);
    let names: Vec<_> = q.from.joins.iter().map(|j| j.source.name.as_str()).collect();
    assert_eq!(names, ["B", "C", "D", "E", "F", "G", "H", "I"]);
    assert_eq!(q.from.joins[0].on.to_string(), "A.ID = B.ID");
}

#[test]
fn join_windows() {
    let q = query(
        "SELECT * FROM o JOIN s WITHIN 1 HOUR ON o.id = s.id \
         LEFT JOIN t tt WITHIN (10 SECONDS, 2 MINUTES) GRACE PERIOD 500 MILLISECONDS ON o.id = tt.id \
         FULL OUTER JOIN u WITHIN 1 DAY GRACE PERIOD 0 SECONDS ON o.id = u.id",
    );
    let windows: Vec<_> = q.from.joins.iter().map(|j| j.within).collect();
    assert_eq!(
        windows,
        [
            Some(Within {
                before_ms: 3_600_000,
                after_ms: 3_600_000,
                grace_ms: None
            }),
            Some(Within {
                before_ms: 10_000,
                after_ms: 120_000,
                grace_ms: Some(500)
            }),
            Some(Within {
                before_ms: 86_400_000,
                after_ms: 86_400_000,
                grace_ms: Some(0)
            }),
        ]
    );
    assert_eq!(q.from.joins[1].source.alias.as_deref(), Some("TT"));
    assert_error(
        "SELECT * FROM a JOIN b GRACE PERIOD 1 SECOND ON a.x = b.x",
        "GRACE PERIOD in a join must follow a WITHIN clause",
        1,
        24,
    );
    assert_error(
        "SELECT * FROM a JOIN b WHERE a.x = b.x",
        "Expected ON after the joined source, found WHERE",
        1,
        24,
    );
    assert_error(
        "SELECT * FROM a LEFT OUTER b ON a.x = b.x",
        "Expected JOIN after LEFT OUTER, found B",
        1,
        28,
    );
    assert_error("SELECT * FROM a LEFT b", "Expected JOIN after LEFT, found B", 1, 22);
}

#[test]
fn windows() {
    let window = |w: &str| query(&format!("SELECT a FROM s WINDOW {w} GROUP BY a")).window;
    assert_eq!(
        window("TUMBLING (SIZE 1 HOUR, RETENTION 7 DAYS, GRACE PERIOD 10 MINUTES)"),
        Some(WindowSpec::Tumbling {
            size_ms: 3_600_000,
            retention_ms: Some(604_800_000),
            grace_ms: Some(600_000)
        })
    );
    assert_eq!(
        window("tumbling (size 5 milliseconds, grace period 1 second)"),
        Some(WindowSpec::Tumbling {
            size_ms: 5,
            retention_ms: None,
            grace_ms: Some(1000)
        })
    );
    assert_eq!(
        window("HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS)"),
        Some(WindowSpec::Hopping {
            size_ms: 30_000,
            advance_ms: 10_000,
            retention_ms: None,
            grace_ms: None
        })
    );
    assert_eq!(
        window("HOPPING (SIZE 1 DAY, ADVANCE BY 1 HOUR, RETENTION 2 DAYS, GRACE PERIOD 1 MINUTE)"),
        Some(WindowSpec::Hopping {
            size_ms: 86_400_000,
            advance_ms: 3_600_000,
            retention_ms: Some(172_800_000),
            grace_ms: Some(60_000)
        })
    );
    assert_eq!(
        window("SESSION (5 MINUTES)"),
        Some(WindowSpec::Session {
            gap_ms: 300_000,
            retention_ms: None,
            grace_ms: None
        })
    );
    assert_eq!(
        window("SESSION (1 MINUTE, GRACE PERIOD 2 MINUTES, RETENTION 1 HOUR)"),
        Some(WindowSpec::Session {
            gap_ms: 60_000,
            retention_ms: Some(3_600_000),
            grace_ms: Some(120_000)
        })
    );
}

#[test]
fn window_errors() {
    let at = |w: &str, message: &str, column: u64| {
        assert_error(&format!("SELECT a FROM s WINDOW {w}"), message, 1, column);
    };
    at(
        "SLIDING (SIZE 1 HOUR)",
        "Expected TUMBLING, HOPPING or SESSION after WINDOW, found SLIDING",
        24,
    );
    at(
        "TUMBLING (SIZE 1 WEEK)",
        "Expected a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS), found WEEK",
        41,
    );
    at(
        "TUMBLING (SIZE 0 SECONDS)",
        "the window SIZE must be greater than zero",
        39,
    );
    at("TUMBLING (1 HOUR)", "Expected SIZE in a TUMBLING window, found 1", 34);
    at(
        "TUMBLING (SIZE 1 HOUR, GRACE PERIOD 1 HOUR, GRACE PERIOD 2 HOURS)",
        "GRACE PERIOD is given twice",
        68,
    );
    at(
        "TUMBLING (SIZE 1 HOUR, RETAIN 1 HOUR)",
        "Expected RETENTION or GRACE PERIOD, found RETAIN",
        47,
    );
    at(
        "TUMBLING (SIZE 1.5 HOURS)",
        "Expected the window SIZE (a non-negative whole number), found 1.5",
        39,
    );
    at(
        "HOPPING (SIZE 10 SECONDS, ADVANCE BY 20 SECONDS)",
        "ADVANCE BY must not be larger than the window SIZE",
        61,
    );
    at(
        "HOPPING (SIZE 10 SECONDS)",
        "Expected , after the window SIZE, found )",
        48,
    );
    at(
        "TUMBLING (SIZE 18446744073709551615 DAYS)",
        "the window SIZE of 18446744073709551615 DAYS is too large",
        39,
    );
    at(
        "TUMBLING (SIZE 1 HOUR",
        "Expected ) or , in the window, found end of statement",
        45,
    );
}

#[test]
fn trailing_clause_errors() {
    assert_error(
        "SELECT * FROM s EMIT LATER",
        "Expected CHANGES or FINAL after EMIT, found LATER",
        1,
        22,
    );
    assert_error("SELECT * FROM s GROUP a", "Expected BY after GROUP, found A", 1, 23);
    assert_error(
        "SELECT * FROM s LIMIT 'x'",
        "Expected the LIMIT (a non-negative whole number), found 'x'",
        1,
        23,
    );
    assert_error(
        "SELECT * FROM s ORDER BY a",
        "Expected end of statement, found ORDER",
        1,
        17,
    );
    assert_error(
        "SELECT * FROM s EMIT CHANGES WHERE a = 1",
        "Expected end of statement, found WHERE",
        1,
        30,
    );
    assert_error(
        "SELECT * FROM",
        "Expected a stream or table name after FROM, found end of statement",
        1,
        14,
    );
    assert_error("SELECT FROM s", "Expected a select item after SELECT, found FROM", 1, 8);
    assert_error(
        "SELECT a b c FROM s",
        "Expected FROM after the select list, found C",
        1,
        12,
    );
}
