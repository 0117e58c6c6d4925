//! One test per statement form.

use super::{assert_error, one, query};
use crate::sql::ast::{
    ColumnConstraint, ColumnDef, CreateSource, ExplainTarget, Position, PropertyValue, ShowTarget, SourceKind,
    Statement, TerminateTarget,
};
use crate::types::SqlType;

fn create_source(sql: &str) -> CreateSource {
    match one(sql) {
        Statement::CreateSource(c) => c,
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn create_stream_with_columns_and_properties() {
    let c = create_source(
        "CREATE STREAM pageviews (viewtime BIGINT, user_id VARCHAR KEY, page_id STRING) \
         WITH (kafka_topic = 'pageviews', value_format = 'JSON', partitions = 4, wrap_single_value = false)",
    );
    assert_eq!(c.kind, SourceKind::Stream);
    assert_eq!(c.name, "PAGEVIEWS");
    assert!(!c.or_replace && !c.if_not_exists && !c.is_source);
    assert_eq!(
        c.columns,
        vec![
            ColumnDef {
                name: "VIEWTIME".into(),
                ty: SqlType::BigInt,
                constraint: ColumnConstraint::None
            },
            ColumnDef {
                name: "USER_ID".into(),
                ty: SqlType::String,
                constraint: ColumnConstraint::Key
            },
            ColumnDef {
                name: "PAGE_ID".into(),
                ty: SqlType::String,
                constraint: ColumnConstraint::None
            },
        ]
    );
    let p = &c.properties;
    assert_eq!(p.get("KAFKA_TOPIC"), Some(&PropertyValue::String("pageviews".into())));
    assert_eq!(p.get("VALUE_FORMAT"), Some(&PropertyValue::String("JSON".into())));
    assert_eq!(p.get("PARTITIONS"), Some(&PropertyValue::Number("4".into())));
    assert_eq!(p.get("WRAP_SINGLE_VALUE"), Some(&PropertyValue::Boolean(false)));
    let keys: Vec<_> = p.entries.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys, ["KAFKA_TOPIC", "VALUE_FORMAT", "PARTITIONS", "WRAP_SINGLE_VALUE"]);
}

#[test]
fn create_table_flags_and_constraints() {
    let c = create_source(
        "create or replace source table if not exists users \
         (id INT PRIMARY KEY, hs ARRAY<STRUCT<KEY STRING, VALUE BYTES>> HEADERS, h BYTES HEADER('trace')) \
         with (kafka_topic='users', format='json')",
    );
    assert_eq!(c.kind, SourceKind::Table);
    assert!(c.or_replace && c.if_not_exists && c.is_source);
    let constraints: Vec<_> = c.columns.iter().map(|c| c.constraint.clone()).collect();
    assert_eq!(
        constraints,
        [
            ColumnConstraint::PrimaryKey,
            ColumnConstraint::Headers,
            ColumnConstraint::Header("trace".into())
        ]
    );
}

#[test]
fn create_source_without_with_clause_leaves_it_to_the_planner() {
    let c = create_source("CREATE STREAM s (a INT)");
    assert!(c.properties.entries.is_empty());
}

#[test]
fn key_constraints_are_left_to_the_planner_to_match_with_the_kind() {
    let c = create_source("CREATE STREAM s (id INT PRIMARY KEY) WITH (kafka_topic='t')");
    assert_eq!(c.columns[0].constraint, ColumnConstraint::PrimaryKey);
    let c = create_source("CREATE TABLE t (id INT KEY) WITH (kafka_topic='t')");
    assert_eq!(c.columns[0].constraint, ColumnConstraint::Key);
}

#[test]
fn create_without_columns_parses_so_the_planner_can_explain() {
    // ksqlDB would read the columns from a schema registry; Weir's planner says they must be declared.
    match one("CREATE STREAM s WITH (kafka_topic='t', value_format='avro')") {
        Statement::CreateSource(c) => assert!(c.columns.is_empty()),
        other => panic!("{other:?}"),
    }
    // Anything else after the name is still a parse error with a position.
    let e = super::fails("CREATE STREAM s WITH (kafka_topic='t') garbage;");
    assert!(e.message.contains("schema registry"), "{e}");
    assert_eq!(e.line, 1);
}

#[test]
fn property_values_and_keys() {
    let c = create_source("CREATE STREAM s (a INT) WITH ('Kafka_Topic'='t', REPLICAS=-1, x=1.5, b=TRUE, \"q\"='v')");
    let p = &c.properties;
    assert_eq!(p.get("KAFKA_TOPIC"), Some(&PropertyValue::String("t".into())));
    assert_eq!(p.get("REPLICAS"), Some(&PropertyValue::Number("-1".into())));
    assert_eq!(p.get("X"), Some(&PropertyValue::Number("1.5".into())));
    assert_eq!(p.get("B"), Some(&PropertyValue::Boolean(true)));
    assert_eq!(p.get("Q"), Some(&PropertyValue::String("v".into())));
    assert_eq!(p.entries[1].2, Position { line: 1, column: 50 });
}

#[test]
fn unknown_properties_are_kept_duplicates_refused() {
    let c = create_source("CREATE STREAM s (a INT) WITH (kafka_topic='t', no_such_thing='x')");
    assert_eq!(
        c.properties.get("NO_SUCH_THING"),
        Some(&PropertyValue::String("x".into()))
    );
    assert_error(
        "CREATE STREAM s (a INT)\nWITH (kafka_topic='t',\n      KAFKA_TOPIC='u')",
        "Duplicate property KAFKA_TOPIC (first set at line 2, column 7)",
        3,
        7,
    );
    assert_error(
        "CREATE STREAM s (a INT) WITH (kafka_topic=orders)",
        "Expected a value for property KAFKA_TOPIC",
        1,
        43,
    );
}

#[test]
fn create_as_select() {
    let Statement::CreateAsSelect(c) = one(
        "CREATE OR REPLACE TABLE IF NOT EXISTS counts WITH (kafka_topic='counts') AS \
         SELECT page_id, COUNT(*) AS n FROM pageviews GROUP BY page_id EMIT CHANGES",
    ) else {
        panic!()
    };
    assert_eq!(
        (c.kind, c.name.as_str(), c.or_replace, c.if_not_exists),
        (SourceKind::Table, "COUNTS", true, true)
    );
    assert_eq!(
        c.properties.get("KAFKA_TOPIC"),
        Some(&PropertyValue::String("counts".into()))
    );
    assert_eq!(c.query.from.source.name, "PAGEVIEWS");
    assert_eq!(c.query.position, Position { line: 1, column: 77 });

    let Statement::CreateAsSelect(c) = one("create stream s2 as select * from s") else {
        panic!()
    };
    assert!(c.properties.entries.is_empty());
    assert_eq!(c.kind, SourceKind::Stream);
}

#[test]
fn create_as_select_refuses_columns_and_source() {
    assert_error(
        "CREATE STREAM s (a INT) AS SELECT * FROM t",
        "takes no column list",
        1,
        25,
    );
    assert_error(
        "CREATE SOURCE STREAM s AS SELECT * FROM t",
        "CREATE SOURCE cannot be combined",
        1,
        24,
    );
}

#[test]
fn insert_select_and_values() {
    let Statement::InsertSelect { target, query } = one("INSERT INTO sink SELECT * FROM src") else {
        panic!()
    };
    assert_eq!((target.as_str(), query.from.source.name.as_str()), ("SINK", "SRC"));

    let Statement::InsertValues {
        target,
        columns,
        values,
    } = one("insert into s (id, `Name`) values (1, 'Ann')")
    else {
        panic!()
    };
    assert_eq!(target, "S");
    assert_eq!(columns, Some(vec!["ID".to_string(), "Name".to_string()]));
    let values: Vec<String> = values.iter().map(ToString::to_string).collect();
    assert_eq!(values, ["1", "'Ann'"]);

    let Statement::InsertValues { columns, values, .. } = one("INSERT INTO s VALUES (1 + 2, ARRAY[1, 2], NULL)") else {
        panic!()
    };
    assert_eq!(columns, None);
    assert_eq!(values.len(), 3);

    let Statement::InsertValues { values, .. } = one("INSERT INTO s VALUES ()") else {
        panic!()
    };
    assert!(values.is_empty());
}

#[test]
fn drop() {
    assert_eq!(
        one("DROP STREAM s"),
        Statement::Drop {
            kind: SourceKind::Stream,
            name: "S".into(),
            if_exists: false,
            delete_topic: false
        }
    );
    assert_eq!(
        one("drop table if exists \"t\" delete topic"),
        Statement::Drop {
            kind: SourceKind::Table,
            name: "t".into(),
            if_exists: true,
            delete_topic: true
        }
    );
    assert_error("DROP VIEW v", "Expected STREAM or TABLE after DROP, found VIEW", 1, 6);
}

#[test]
fn show_and_list() {
    let cases = [
        ("SHOW STREAMS", ShowTarget::Streams, false),
        ("list tables extended", ShowTarget::Tables, true),
        ("SHOW QUERIES", ShowTarget::Queries, false),
        ("LIST TOPICS", ShowTarget::Topics, false),
        ("SHOW ALL TOPICS EXTENDED", ShowTarget::Topics, true),
        ("SHOW PROPERTIES", ShowTarget::Properties, false),
        ("DESCRIBE STREAMS", ShowTarget::Streams, false),
        ("describe tables extended", ShowTarget::Tables, true),
    ];
    for (sql, what, extended) in cases {
        assert_eq!(one(sql), Statement::Show { what, extended }, "{sql}");
    }
    assert_error(
        "SHOW FUNCTIONS",
        "Expected STREAMS, TABLES, QUERIES, TOPICS or PROPERTIES after SHOW, found FUNCTIONS",
        1,
        6,
    );
    assert_error("SHOW ALL STREAMS", "Expected TOPICS after SHOW ALL", 1, 10);
    assert_error(
        "SHOW PROPERTIES EXTENDED",
        "Expected end of statement, found EXTENDED",
        1,
        17,
    );
}

#[test]
fn describe() {
    assert_eq!(
        one("DESCRIBE pageviews"),
        Statement::Describe {
            name: "PAGEVIEWS".into(),
            extended: false
        }
    );
    assert_eq!(
        one("describe `PageViews` extended"),
        Statement::Describe {
            name: "PageViews".into(),
            extended: true
        }
    );
    assert_eq!(
        one("DESCRIBE \"STREAMS\""),
        Statement::Describe {
            name: "STREAMS".into(),
            extended: false
        }
    );
}

#[test]
fn explain() {
    assert_eq!(
        one("EXPLAIN csas_out_3"),
        Statement::Explain(ExplainTarget::QueryId("CSAS_OUT_3".into()))
    );
    assert_eq!(
        one("EXPLAIN 'ctas_X_1'"),
        Statement::Explain(ExplainTarget::QueryId("ctas_X_1".into()))
    );
    let Statement::Explain(ExplainTarget::Statement(inner)) = one("EXPLAIN SELECT * FROM s EMIT CHANGES") else {
        panic!()
    };
    assert!(matches!(*inner, Statement::Select(_)));
    let Statement::Explain(ExplainTarget::Statement(inner)) = one("explain create stream o as select * from s") else {
        panic!()
    };
    assert!(matches!(*inner, Statement::CreateAsSelect(_)));
    assert_error("EXPLAIN EXPLAIN x", "EXPLAIN cannot explain another EXPLAIN", 1, 9);
}

#[test]
fn terminate() {
    assert_eq!(one("TERMINATE ALL"), Statement::Terminate(TerminateTarget::All));
    assert_eq!(
        one("terminate ctas_t_7"),
        Statement::Terminate(TerminateTarget::Query("CTAS_T_7".into()))
    );
    assert_error(
        "TERMINATE",
        "Expected ALL or a query id after TERMINATE, found end of statement",
        1,
        10,
    );
}

#[test]
fn print() {
    assert_eq!(
        one("PRINT 'my-Topic'"),
        Statement::Print {
            topic: "my-Topic".into(),
            from_beginning: false,
            interval: None,
            limit: None
        }
    );
    assert_eq!(
        one("print myTopic from beginning interval 5 limit 10"),
        Statement::Print {
            topic: "myTopic".into(),
            from_beginning: true,
            interval: Some(5),
            limit: Some(10)
        }
    );
    assert_eq!(
        one("PRINT `Quoted` SAMPLE 2"),
        Statement::Print {
            topic: "Quoted".into(),
            from_beginning: false,
            interval: Some(2),
            limit: None
        }
    );
    assert_error(
        "PRINT t LIMIT -1",
        "Expected the limit (a non-negative whole number), found -",
        1,
        15,
    );
}

#[test]
fn set_and_unset() {
    assert_eq!(
        one("SET 'auto.offset.reset' = 'earliest'"),
        Statement::Set {
            name: "auto.offset.reset".into(),
            value: "earliest".into()
        }
    );
    assert_eq!(
        one("unset 'auto.offset.reset'"),
        Statement::Unset {
            name: "auto.offset.reset".into()
        }
    );
    assert_error(
        "SET auto = 'x'",
        "Expected a property name in quotes after SET, found AUTO",
        1,
        5,
    );
}

#[test]
fn select_statement() {
    let q = query("SELECT * FROM s");
    assert_eq!(q.from.source.name, "S");
}

#[test]
fn unknown_statement() {
    assert_error(
        "ALTER STREAM s ADD COLUMN c INT",
        "Expected a statement (SELECT, CREATE, INSERT, DROP, SHOW, LIST, DESCRIBE, EXPLAIN, TERMINATE, PRINT, SET or UNSET), found ALTER",
        1,
        1,
    );
    assert_error(
        "CREATE VIEW v AS SELECT 1",
        "Expected STREAM or TABLE after CREATE, found VIEW",
        1,
        8,
    );
    assert_error(
        "CREATE SOURCE VIEW v",
        "Expected STREAM or TABLE after CREATE SOURCE, found VIEW",
        1,
        15,
    );
}
