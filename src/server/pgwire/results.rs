//! Weir statement results as Postgres replies: listings and descriptions as result sets with the column names
//! ksqlDB's CLI uses (`SHOW STREAMS` → Stream Name | Kafka Topic | Key Format | Value Format | Windowed), DDL as
//! command tags (`CREATE STREAM`, `DROP TABLE`, `INSERT 0 1`) with notices for what the tag cannot say (the id
//! of a started query, warnings).
//!
//! [`columns_of_statement`] gives a statement's result columns before it runs, for the extended protocol's
//! `Describe`; [`render`] must produce exactly those columns.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int32Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::errors::PgError;
use crate::engine::{QueryDescription, SourceDescription, StatementResult};
use crate::sql::ast::{ShowTarget, Statement};

/// What a Weir statement returns to a Postgres client.
pub enum Reply {
    Rows {
        batch: RecordBatch,
        /// The command tag's word: `SHOW`, `EXPLAIN`, `SELECT`.
        tag: &'static str,
        notices: Vec<String>,
    },
    Command {
        tag: String,
        notices: Vec<String>,
    },
}

type Cols = Vec<(&'static str, DataType)>;

fn text_cols(names: &[&'static str]) -> Cols {
    names.iter().map(|n| (*n, DataType::Utf8)).collect()
}

/// The result columns of a statement (`None`: it returns a command tag only).
pub fn columns_of_statement(statement: &Statement) -> Option<Vec<(String, DataType)>> {
    let cols: Cols = match statement {
        Statement::Show { what, extended } => match what {
            ShowTarget::Streams | ShowTarget::Tables => {
                let name = if *what == ShowTarget::Tables {
                    "Table Name"
                } else {
                    "Stream Name"
                };
                let mut c = text_cols(&[name, "Kafka Topic", "Key Format", "Value Format"]);
                c.push(("Windowed", DataType::Boolean));
                c
            }
            ShowTarget::Queries => text_cols(&[
                "Query ID",
                "Query Type",
                "Status",
                "Sink Name",
                "Sink Kafka Topic",
                "Query String",
            ]),
            ShowTarget::Topics => {
                let mut c = vec![
                    ("Kafka Topic", DataType::Utf8),
                    ("Partitions", DataType::Int32),
                    ("Partition Replicas", DataType::Int32),
                ];
                if *extended {
                    c.push(("Consumers", DataType::Int32));
                }
                c
            }
            ShowTarget::Properties => text_cols(&["Property", "Scope", "Level", "Value"]),
        },
        Statement::Describe { .. } => text_cols(&["Field", "Type"]),
        Statement::Explain(_) => text_cols(&["QUERY PLAN"]),
        Statement::Print { .. } => text_cols(&["PRINT"]),
        _ => return None,
    };
    Some(cols.into_iter().map(|(n, t)| (n.to_string(), t)).collect())
}

/// The command tag of a statement that returns no rows.
pub fn command_tag(statement: &Statement) -> String {
    match statement {
        Statement::CreateSource(c) => format!("CREATE {}", c.kind.as_str()),
        Statement::CreateAsSelect(c) => format!("CREATE {}", c.kind.as_str()),
        Statement::InsertSelect { .. } => "INSERT 0 0".into(),
        Statement::InsertValues { .. } => "INSERT 0 1".into(),
        Statement::Drop { kind, .. } => format!("DROP {}", kind.as_str()),
        Statement::Terminate(_) => "TERMINATE".into(),
        Statement::Set { .. } => "SET".into(),
        Statement::Unset { .. } => "UNSET".into(),
        Statement::Show { .. } => "SHOW".into(),
        Statement::Describe { .. } => "DESCRIBE".into(),
        Statement::Explain(_) => "EXPLAIN".into(),
        Statement::Print { .. } => "PRINT".into(),
        Statement::Select(_) => "SELECT".into(),
    }
}

/// Renders an engine result for a Postgres client.
pub fn render(result: &StatementResult, statement: &Statement) -> Result<Reply, PgError> {
    let columns = columns_of_statement(statement);
    let rows = |values: Vec<Vec<Cell>>, tag: &'static str, notices: Vec<String>| -> Result<Reply, PgError> {
        let Some(cols) = &columns else {
            return Err(PgError::internal("a listing for a statement without result columns"));
        };
        Ok(Reply::Rows {
            batch: batch(cols, values)?,
            tag,
            notices,
        })
    };
    match result {
        StatementResult::Status(s) => {
            let mut notices = Vec::new();
            if s.query_id.is_some() {
                notices.push(s.message.clone());
            }
            notices.extend(s.warnings.iter().cloned());
            Ok(Reply::Command {
                tag: command_tag(statement),
                notices,
            })
        }
        StatementResult::Sources(list) => rows(
            list.items
                .iter()
                .map(|s| {
                    vec![
                        Cell::Text(s.name.clone()),
                        Cell::Text(s.topic.clone()),
                        Cell::Text(s.key_format.clone()),
                        Cell::Text(s.value_format.clone()),
                        Cell::Bool(s.windowed),
                    ]
                })
                .collect(),
            "SHOW",
            vec![],
        ),
        StatementResult::Queries(queries) => rows(
            queries
                .iter()
                .map(|q| {
                    vec![
                        Cell::Text(q.id.clone()),
                        Cell::Text(q.query_type.to_string()),
                        Cell::Text(match &q.error {
                            Some(e) => format!("{}: {e}", q.state),
                            None => q.state.clone(),
                        }),
                        Cell::Text(q.sinks.join(", ")),
                        Cell::Text(q.sink_topics.join(", ")),
                        Cell::Text(q.sql.clone()),
                    ]
                })
                .collect(),
            "SHOW",
            vec![],
        ),
        StatementResult::Topics(topics) => {
            let extended = matches!(statement, Statement::Show { extended: true, .. });
            rows(
                topics
                    .iter()
                    .map(|t| {
                        let mut r = vec![
                            Cell::Text(t.name.clone()),
                            Cell::Int(i32::try_from(t.partitions).unwrap_or(i32::MAX)),
                            Cell::Int(i32::from(t.replicas)),
                        ];
                        if extended {
                            r.push(Cell::Int(i32::try_from(t.consumers.len()).unwrap_or(i32::MAX)));
                        }
                        r
                    })
                    .collect(),
                "SHOW",
                vec![],
            )
        }
        StatementResult::Properties(props) => rows(
            props
                .iter()
                .map(|p| {
                    vec![
                        Cell::Text(p.name.clone()),
                        Cell::Text("KSQL".into()),
                        Cell::Text(p.scope.to_string()),
                        Cell::Text(p.value.clone()),
                    ]
                })
                .collect(),
            "SHOW",
            vec![],
        ),
        StatementResult::SourceDescription(d) => rows(
            d.fields
                .iter()
                .map(|f| {
                    let key = match f.key {
                        Some("PRIMARY_KEY") | Some("PRIMARY KEY") => " (primary key)",
                        Some(_) => " (key)",
                        None => "",
                    };
                    vec![Cell::Text(f.name.clone()), Cell::Text(format!("{}{key}", f.ty))]
                })
                .collect(),
            "DESCRIBE",
            if d.extended { vec![describe_extended(d)] } else { vec![] },
        ),
        StatementResult::QueryDescription(q) => rows(
            query_plan_lines(q).into_iter().map(|l| vec![Cell::Text(l)]).collect(),
            "EXPLAIN",
            vec![],
        ),
        StatementResult::Rows(set) => {
            // PRINT (and any other row set): every value as text in one column per engine column.
            let values = set
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|v| match v {
                            serde_json::Value::Null => Cell::Null,
                            serde_json::Value::String(s) => Cell::Text(s.clone()),
                            other => Cell::Text(other.to_string()),
                        })
                        .collect()
                })
                .collect::<Vec<Vec<Cell>>>();
            match &columns {
                Some(cols) if cols.len() == set.columns.len() => rows(values, "SELECT", vec![]),
                _ => {
                    let cols: Vec<(String, DataType)> =
                        set.columns.iter().map(|(n, _)| (n.clone(), DataType::Utf8)).collect();
                    Ok(Reply::Rows {
                        batch: batch(&cols, values)?,
                        tag: "SELECT",
                        notices: vec![],
                    })
                }
            }
        }
    }
}

fn describe_extended(d: &SourceDescription) -> String {
    let mut lines = vec![
        format!("Name                 : {}", d.name),
        format!("Type                 : {}", d.kind),
        format!(
            "Timestamp field      : {}",
            d.timestamp.as_deref().unwrap_or("Not set - using <ROWTIME>")
        ),
        format!("Key format           : {}", d.key_format),
        format!("Value format         : {}", d.value_format),
        format!(
            "Kafka topic          : {} (partitions: {}, replication: {})",
            d.topic, d.partitions, d.replicas
        ),
        format!("Statement            : {}", d.statement),
    ];
    for q in d.read_queries.iter().chain(d.write_queries.iter()) {
        lines.push(format!("Query                : {} : {}", q.id, q.sql));
    }
    if !d.statistics.is_empty() {
        lines.push(format!("Statistics           : {}", d.statistics.replace('\n', ", ")));
    }
    if !d.error_stats.is_empty() {
        lines.push(format!("Errors               : {}", d.error_stats.replace('\n', ", ")));
    }
    lines.join("\n")
}

fn query_plan_lines(q: &QueryDescription) -> Vec<String> {
    let mut lines = vec![
        format!("ID: {}", q.id),
        format!("Status: {}", q.state),
        format!("SQL: {}", q.sql),
        format!("Sources: {}", q.sources.join(", ")),
        format!("Sinks: {}", q.sinks.join(", ")),
        "Execution plan:".to_string(),
    ];
    lines.extend(q.execution_plan.lines().map(|l| format!("  {l}")));
    if !q.statistics.is_empty() {
        lines.push(format!("Statistics: {}", q.statistics.replace('\n', ", ")));
    }
    lines
}

/// One value of a listing.
enum Cell {
    Null,
    Text(String),
    Int(i32),
    Bool(bool),
}

fn batch(cols: &[(String, DataType)], rows: Vec<Vec<Cell>>) -> Result<RecordBatch, PgError> {
    let schema = Arc::new(Schema::new(
        cols.iter()
            .map(|(n, t)| Field::new(n, t.clone(), true))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = cols
        .iter()
        .enumerate()
        .map(|(i, (_, t))| -> ArrayRef {
            let cell = |r: &Vec<Cell>| {
                r.get(i).map(|c| match c {
                    Cell::Null => None,
                    Cell::Text(s) => Some(s.clone()),
                    Cell::Int(n) => Some(n.to_string()),
                    Cell::Bool(b) => Some(b.to_string()),
                })
            };
            match t {
                DataType::Int32 => Arc::new(
                    rows.iter()
                        .map(|r| match r.get(i) {
                            Some(Cell::Int(n)) => Some(*n),
                            _ => None,
                        })
                        .collect::<Int32Array>(),
                ),
                DataType::Boolean => Arc::new(
                    rows.iter()
                        .map(|r| match r.get(i) {
                            Some(Cell::Bool(b)) => Some(*b),
                            _ => None,
                        })
                        .collect::<BooleanArray>(),
                ),
                _ => Arc::new(rows.iter().map(|r| cell(r).flatten()).collect::<StringArray>()),
            }
        })
        .collect();
    RecordBatch::try_new(schema, arrays).map_err(|e| PgError::internal(e.to_string()))
}
