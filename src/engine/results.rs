//! What statements return. Protocol layers render these as ksqlDB REST entities or Postgres result sets.

use crate::types::SqlType;

/// The outcome of one statement.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementResult {
    /// A DDL/DML command was accepted.
    Status(CommandStatus),
    Sources(SourceList),
    Queries(Vec<QueryInfo>),
    Topics(Vec<TopicDescription>),
    Properties(Vec<PropertyInfo>),
    SourceDescription(Box<SourceDescription>),
    QueryDescription(Box<QueryDescription>),
    /// Rows with named, typed columns (PRINT lines, pull query results).
    Rows(RowSet),
}

/// `currentStatus` in ksqlDB terms.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandStatus {
    pub message: String,
    /// Position in the command log, for logged statements.
    pub command_seq: Option<u64>,
    pub query_id: Option<String>,
    /// Non-fatal notes, e.g. "stream already exists" with IF NOT EXISTS.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceList {
    pub tables: bool,
    pub extended: bool,
    pub items: Vec<SourceSummary>,
    /// With EXTENDED: a full description per source.
    pub descriptions: Vec<SourceDescription>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceSummary {
    pub name: String,
    pub kind: &'static str,
    pub topic: String,
    pub key_format: String,
    pub value_format: String,
    pub windowed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryInfo {
    pub id: String,
    pub sql: String,
    pub sinks: Vec<String>,
    pub sink_topics: Vec<String>,
    /// `RUNNING`, `ERROR`, or for push queries `RUNNING` too.
    pub state: String,
    pub query_type: &'static str,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopicDescription {
    pub name: String,
    pub partitions: u32,
    pub replicas: i16,
    /// With EXTENDED: the queries consuming it.
    pub consumers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PropertyInfo {
    pub name: String,
    pub scope: &'static str,
    pub value: String,
}

/// One column of a described source.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldInfo {
    pub name: String,
    pub ty: SqlType,
    /// `KEY`, `PRIMARY_KEY` or none.
    pub key: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceDescription {
    pub name: String,
    pub kind: &'static str,
    pub topic: String,
    pub partitions: u32,
    pub replicas: i16,
    pub key_format: String,
    pub value_format: String,
    pub timestamp: Option<String>,
    pub fields: Vec<FieldInfo>,
    pub read_queries: Vec<QueryInfo>,
    pub write_queries: Vec<QueryInfo>,
    pub statement: String,
    pub extended: bool,
    /// With EXTENDED: counters as `name: value` lines.
    pub statistics: String,
    pub error_stats: String,
    pub windowed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryDescription {
    pub id: String,
    pub sql: String,
    pub sources: Vec<String>,
    pub sinks: Vec<String>,
    pub fields: Vec<FieldInfo>,
    /// A readable rendering of the streaming plan.
    pub execution_plan: String,
    pub state: String,
    pub statistics: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowSet {
    pub columns: Vec<(String, SqlType)>,
    pub rows: Vec<Vec<serde_json::Value>>,
}
