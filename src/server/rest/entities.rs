//! Engine results rendered as ksqlDB REST entities (`@type` + fields, as ksqlDB's clients expect them).

use serde_json::{Value, json};

use crate::engine::{FieldInfo, QueryInfo, SourceDescription, StatementResult};
use crate::sql::ast::Statement;
use crate::types::SqlType;

/// The entity for one statement's result.
pub fn render(result: &StatementResult, text: &str, statement: &Statement) -> Value {
    let statement_text = format!("{text};");
    let mut entity = match result {
        StatementResult::Status(s) => json!({
            "@type": "currentStatus",
            "commandId": command_id(statement),
            "commandStatus": {
                "status": "SUCCESS",
                "message": s.message,
                "queryId": s.query_id,
            },
            "commandSequenceNumber": s.command_seq.map(|n| n as i64).unwrap_or(-1),
            "warnings": s.warnings.iter().map(|w| json!({"message": w})).collect::<Vec<_>>(),
        }),
        StatementResult::Sources(list) if list.extended => json!({
            "@type": "source_descriptions",
            "sourceDescriptions": list.descriptions.iter().map(source_description).collect::<Vec<_>>(),
        }),
        StatementResult::Sources(list) => {
            let key = if list.tables { "tables" } else { "streams" };
            let items: Vec<Value> = list
                .items
                .iter()
                .map(|s| {
                    json!({
                        "type": s.kind,
                        "name": s.name,
                        "topic": s.topic,
                        "keyFormat": s.key_format,
                        "valueFormat": s.value_format,
                        "isWindowed": s.windowed,
                    })
                })
                .collect();
            json!({"@type": key, key: items})
        }
        StatementResult::Queries(queries) => json!({
            "@type": "queries",
            "queries": queries.iter().map(running_query).collect::<Vec<_>>(),
        }),
        StatementResult::Topics(topics) => {
            let extended = topics.iter().any(|t| !t.consumers.is_empty());
            json!({
                "@type": if extended { "kafka_topics_extended" } else { "kafka_topics" },
                "topics": topics.iter().map(|t| json!({
                    "name": t.name,
                    "replicaInfo": vec![t.replicas; t.partitions as usize],
                    "consumerCount": t.consumers.len(),
                    "consumerGroupCount": t.consumers.len(),
                })).collect::<Vec<_>>(),
            })
        }
        StatementResult::Properties(props) => json!({
            "@type": "properties",
            "properties": props.iter().map(|p| json!({
                "name": p.name,
                "scope": "KSQL",
                "value": p.value,
                "editable": p.scope == "SESSION",
                "level": p.scope,
            })).collect::<Vec<_>>(),
            "overwrittenProperties": props.iter().filter(|p| p.scope == "SESSION").map(|p| p.name.clone()).collect::<Vec<_>>(),
            "defaultProperties": [],
        }),
        StatementResult::SourceDescription(d) => json!({
            "@type": "sourceDescription",
            "sourceDescription": source_description(d),
        }),
        StatementResult::QueryDescription(q) => json!({
            "@type": "queryDescription",
            "queryDescription": {
                "id": q.id,
                "statementText": q.sql,
                "windowType": null,
                "fields": fields(&q.fields),
                "sources": q.sources,
                "sinks": q.sinks,
                "topology": "",
                "executionPlan": q.execution_plan,
                "overriddenProperties": {},
                "ksqlHostQueryStatus": {"localhost": q.state},
                "queryType": "PERSISTENT",
                "queryErrors": [],
                "tasksMetadata": [],
                "state": q.state,
                "statistics": q.statistics,
            }
        }),
        StatementResult::Rows(rows) => json!({
            "@type": "rows",
            "header": rows.columns.iter().map(|(n, t)| json!({"name": n, "type": t.to_string()})).collect::<Vec<_>>(),
            "rows": rows.rows,
        }),
    };
    entity["statementText"] = Value::String(statement_text);
    if entity.get("warnings").is_none() {
        entity["warnings"] = json!([]);
    }
    entity
}

/// ksqlDB's command id: `<type>/<backticked name>/<action>`.
pub fn command_id(statement: &Statement) -> String {
    match statement {
        Statement::CreateSource(c) => format!("{}/`{}`/create", c.kind.as_str().to_lowercase(), c.name),
        Statement::CreateAsSelect(c) => format!("{}/`{}`/create", c.kind.as_str().to_lowercase(), c.name),
        Statement::InsertSelect { target, .. } => format!("stream/`{target}`/create"),
        Statement::Drop { kind, name, .. } => format!("{}/`{name}`/drop", kind.as_str().to_lowercase()),
        Statement::Terminate(_) => "terminate/CLUSTER/execute".to_string(),
        _ => "cluster/CLUSTER/execute".to_string(),
    }
}

fn running_query(q: &QueryInfo) -> Value {
    json!({
        "queryString": q.sql,
        "sinks": q.sinks,
        "sinkKafkaTopics": q.sink_topics,
        "id": q.id,
        "statusCount": {q.state.clone(): 1},
        "queryType": q.query_type,
        "state": q.state,
    })
}

fn source_description(d: &SourceDescription) -> Value {
    json!({
        "name": d.name,
        "windowType": null,
        "readQueries": d.read_queries.iter().map(running_query).collect::<Vec<_>>(),
        "writeQueries": d.write_queries.iter().map(running_query).collect::<Vec<_>>(),
        "fields": fields(&d.fields),
        "type": d.kind,
        "timestamp": d.timestamp.clone().unwrap_or_default(),
        "statistics": d.statistics,
        "errorStats": d.error_stats,
        "extended": d.extended,
        "keyFormat": d.key_format,
        "valueFormat": d.value_format,
        "topic": d.topic,
        "partitions": d.partitions,
        "replication": d.replicas,
        "statement": d.statement,
        "queryOffsetSummaries": [],
        "sourceConstraints": [],
    })
}

fn fields(fields: &[FieldInfo]) -> Vec<Value> {
    fields
        .iter()
        .map(|f| {
            let mut v = json!({"name": f.name, "schema": schema_info(&f.ty)});
            if let Some(k) = f.key {
                v["type"] = Value::String(if k == "PRIMARY_KEY" { "KEY".into() } else { k.into() });
            }
            v
        })
        .collect()
}

/// ksqlDB's `SchemaInfo`: `{"type", "fields", "memberSchema"[, "parameters"]}`.
pub fn schema_info(t: &SqlType) -> Value {
    let base = |name: &str| json!({"type": name, "fields": null, "memberSchema": null});
    match t {
        SqlType::Boolean => base("BOOLEAN"),
        SqlType::Int => base("INTEGER"),
        SqlType::BigInt => base("BIGINT"),
        SqlType::Double => base("DOUBLE"),
        SqlType::String => base("STRING"),
        SqlType::Bytes => base("BYTES"),
        SqlType::Timestamp => base("TIMESTAMP"),
        SqlType::Date => base("DATE"),
        SqlType::Time => base("TIME"),
        SqlType::Decimal { precision, scale } => json!({
            "type": "DECIMAL", "fields": null, "memberSchema": null,
            "parameters": {"precision": precision, "scale": scale},
        }),
        SqlType::Array(item) => json!({"type": "ARRAY", "fields": null, "memberSchema": schema_info(item)}),
        SqlType::Map(_, v) => json!({"type": "MAP", "fields": null, "memberSchema": schema_info(v)}),
        SqlType::Struct(fs) => json!({
            "type": "STRUCT",
            "memberSchema": null,
            "fields": fs.iter().map(|(n, t)| json!({"name": n, "schema": schema_info(t)})).collect::<Vec<_>>(),
        }),
    }
}
